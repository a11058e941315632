# Build, generate and test Sonde. BPF objects are committed; `make generate`
# reproduces them byte for byte with Debian's clang-19.
CLANG ?= clang-19
STRIP ?= llvm-strip-19
MULTIARCH := $(shell $(CLANG) -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
CFLAGS := -O2 -g -Wall -Werror -I/usr/include/$(MULTIARCH)

export BPF2GO_CC := $(CLANG)
export BPF2GO_STRIP := $(STRIP)
export BPF2GO_CFLAGS := $(CFLAGS)

.PHONY: all build generate test test-ebpf test-soak lint bench offsets fuzz-short image

all: build

build:
	go build ./...

generate:
	go generate ./internal/bpf/... ./probes/...

test:
	go test -count=1 -timeout 30m ./...
	cd sdk && go test -count=1 ./...
	cd examples/kubernetes && go test -count=1 ./...

lint:
	gofmt -l $$(git ls-files '*.go') | grep . && exit 1 || true
	go vet ./...
	cd sdk && go vet ./...
	cd examples/kubernetes && go vet ./...
	cd internal/bench/app && go vet ./... && go vet -tags otel ./...

# The container image (Containerfile): a static binary with permitted file
# capabilities, built here so that no base image is pulled.
IMAGE ?= sonde:dev
image:
	mkdir -p build/image
	CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o build/image/sonde ./cmd/sonde
	setcap cap_bpf,cap_perfmon,cap_sys_ptrace,cap_dac_read_search+p build/image/sonde
	podman build -t $(IMAGE) -f Containerfile build/image

# Every go test -fuzz target for FUZZTIME each (the committed corpora under
# testdata/fuzz run with plain `go test` too): hostile binaries, records and
# strings. `make fuzz-short` in CI; FUZZTIME=10m to search for longer.
FUZZTIME ?= 5s
FUZZ_TARGETS := ./internal/binary:FuzzPclntab ./internal/binary:FuzzOpen \
	./internal/pipeline:FuzzText ./probes:FuzzDecoders
fuzz-short:
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "fuzz $${t#*:} ($${t%%:*}, $(FUZZTIME))"; \
		go test -run '^$$' -fuzz "^$${t#*:}\$$" -fuzztime $(FUZZTIME) $${t%%:*}; \
	done

# The versioned struct-offsets table for binaries without DWARF
# (internal/offsets/table.txt): builds every probe's libraries through the
# module proxy with every Go here; cached, OFFSETS_FLAGS=-budget 9m stops and
# a rerun continues.
offsets:
	go run ./internal/tools/offsetgen $(OFFSETS_FLAGS)

# The reliability tests at full length (root, about 5 minutes): collector
# down 60 s, slow 60 s, and the rest (internal/e2etest/reliability).
test-soak:
	SONDE_TEST_FULL=1 go test -count=1 -timeout 20m -v ./internal/e2etest/reliability/

# Overhead side by side (root, an idle machine): see internal/bench.
# SONDE_BENCH_PEER=/path/to/agent adds a peer agent; BENCH_FLAGS passes flags.
bench:
	go run ./internal/bench $(BENCH_FLAGS)

# The kernel matrix (make kernels, make test-kernels): see mk/kernels.mk.
include mk/kernels.mk
