# Build, generate and test Sonde. BPF objects are committed; `make generate`
# reproduces them byte for byte with Debian's clang-19.
CLANG ?= clang-19
STRIP ?= llvm-strip-19
MULTIARCH := $(shell $(CLANG) -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
CFLAGS := -O2 -g -Wall -Werror -I/usr/include/$(MULTIARCH)

export BPF2GO_CC := $(CLANG)
export BPF2GO_STRIP := $(STRIP)
export BPF2GO_CFLAGS := $(CFLAGS)

.PHONY: all build generate test test-ebpf lint bench

all: build

build:
	go build ./...

generate:
	go generate ./internal/bpf/... ./probes/...

test:
	go test -count=1 -timeout 30m ./...
	cd sdk && go test -count=1 ./...

lint:
	gofmt -l $$(git ls-files '*.go') | grep . && exit 1 || true
	go vet ./...
	cd sdk && go vet ./...
	cd internal/bench/app && go vet ./... && go vet -tags otel ./...

# Overhead side by side (root, an idle machine): see internal/bench.
# SONDE_BENCH_PEER=/path/to/agent adds a peer agent; BENCH_FLAGS passes flags.
bench:
	go run ./internal/bench $(BENCH_FLAGS)

# The kernel matrix (make kernels, make test-kernels): see mk/kernels.mk.
include mk/kernels.mk
