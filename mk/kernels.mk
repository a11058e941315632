# Kernel matrix: run the eBPF test binaries inside other kernels (Debian
# 6.1 and 6.12 cloud kernels) under qemu emulation. See internal/vmtest.
#
# Included from the top Makefile (after its default target), or alone:
#   make -f mk/kernels.mk test-kernels
#
#   kernels       fetch the kernels into $SONDE_KERNEL_CACHE (default
#                 ~/.cache/sonde-kernels) and install qemu if needed
#   test-kernels  fetch, then boot each kernel with internal/vmtest.Suite;
#                 SONDE_VM_RUN=REGEXP runs only the tests whose
#                 BINARY/TEST matches (vmtest.Select), e.g.
#                 SONDE_VM_RUN='^(databasesql|grpc)/TestUnprivileged$$'

KERNELS_ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))..)
GO ?= go
KERNELS_TEST_TIMEOUT ?= 20m

.PHONY: kernels test-kernels

kernels:
	$(KERNELS_ROOT)/scripts/kernels/fetch.sh

test-kernels: kernels
	cd $(KERNELS_ROOT) && $(GO) test -tags vmtest -count=1 -run TestKernels -v \
		-timeout $(KERNELS_TEST_TIMEOUT) ./internal/vmtest/
