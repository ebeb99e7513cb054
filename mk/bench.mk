# Native baselines and the BPF object of the host benchmarks (bench/cases/host-*.mjs).
# Included by the top-level Makefile (TOP, BUILD come from there). Outputs in $(BUILD)/bench/.
#
#   make bench-native   $(BUILD)/bench/host-native       C consumer/loop on the system libbpf
#                       $(BUILD)/bench/host_bench.bpf.o  maps + ring buffer producer (clang-16)
#                       $(BUILD)/bench/open-load         open + load + close loop on the system libbpf
#                       $(BUILD)/bench/open_load.bpf.o   tracepoint tool against a full vmlinux.h
#                                                        (bpftool btf dump of this kernel's BTF)
#
# The C side links the system libbpf (Debian's libbpf-dev), not the pinned libbpf of the
# wasm/native oracle build: that one has its syscalls redirected to the virtual kernel.
BENCH_CLANG   ?= clang-16
BENCH_LIBBPF_PKG := libbpf-dev
BENCH_MULTIARCH := $(shell $(CC_NATIVE) -print-multiarch 2>/dev/null)
BENCH_NATIVE  := $(BUILD)/bench/host-native
BENCH_BPF_OBJ := $(BUILD)/bench/host_bench.bpf.o
BENCH_OPEN_LOAD := $(BUILD)/bench/open-load
BENCH_OPEN_LOAD_OBJ := $(BUILD)/bench/open_load.bpf.o
BENCH_VMLINUX_BTF ?= /sys/kernel/btf/vmlinux

.PHONY: bench-native bench-deps
bench-native: $(BENCH_NATIVE) $(BENCH_BPF_OBJ) $(BENCH_OPEN_LOAD) $(BENCH_OPEN_LOAD_OBJ)

bench-deps:
	@test -f /usr/include/bpf/libbpf.h || { echo "installing $(BENCH_LIBBPF_PKG)"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(BENCH_LIBBPF_PKG) >/dev/null; }
	@command -v $(BENCH_CLANG) >/dev/null || { echo "error: $(BENCH_CLANG) is missing (make testdata-clang installs it)" >&2; exit 1; }
	@command -v bpftool >/dev/null || { echo "installing bpftool"; DEBIAN_FRONTEND=noninteractive apt-get install -y -q bpftool >/dev/null; }

$(BENCH_NATIVE): $(TOP)/bench/native/host_native.c | bench-deps
	@mkdir -p $(@D)
	$(CC_NATIVE) -O2 -Wall -Wextra -std=gnu11 $< -o $@ -lbpf -lpthread

$(BENCH_BPF_OBJ): $(TOP)/bench/native/host_bench.bpf.c | bench-deps
	@mkdir -p $(@D)
	$(BENCH_CLANG) -target bpf -O2 -g -mcpu=v3 -Wall -Werror \
	  $(if $(BENCH_MULTIARCH),-I/usr/include/$(BENCH_MULTIARCH)) -c $< -o $@

$(BENCH_OPEN_LOAD): $(TOP)/bench/native/open_load.c | bench-deps
	@mkdir -p $(@D)
	$(CC_NATIVE) -O2 -Wall -Wextra -std=gnu11 $< -o $@ -lbpf

$(BUILD)/bench/vmlinux.h: | bench-deps
	@mkdir -p $(@D)
	bpftool btf dump file $(BENCH_VMLINUX_BTF) format c > $@.tmp && mv $@.tmp $@

$(BENCH_OPEN_LOAD_OBJ): $(TOP)/bench/native/open_load.bpf.c $(BUILD)/bench/vmlinux.h | bench-deps
	@mkdir -p $(@D)
	$(BENCH_CLANG) -target bpf -O2 -g -mcpu=v3 -Wall -Werror -D__TARGET_ARCH_x86 -I$(BUILD)/bench \
	  $(if $(BENCH_MULTIARCH),-I/usr/include/$(BENCH_MULTIARCH)) -c $< -o $@
