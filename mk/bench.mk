# Native baselines and the BPF object of the host benchmarks (bench/cases/host-*.mjs).
# Included by the top-level Makefile (TOP, BUILD come from there). Outputs in $(BUILD)/bench/.
#
#   make bench-native   $(BUILD)/bench/host-native       C consumer/loop on the system libbpf
#                       $(BUILD)/bench/host_bench.bpf.o  maps + ring buffer producer (clang-16)
#                       $(BUILD)/bench/open-load-probe   open + load + close loop on the system libbpf
#                                                        (bench/open-load-probe.mjs)
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
BENCH_OPEN_LOAD_PROBE := $(BUILD)/bench/open-load-probe
BENCH_OPEN_LOAD_OBJ := $(BUILD)/bench/open_load.bpf.o
BENCH_VMLINUX_BTF ?= /sys/kernel/btf/vmlinux

.PHONY: bench-native bench-deps
bench-native: $(BENCH_NATIVE) $(BENCH_BPF_OBJ) $(BENCH_OPEN_LOAD_PROBE) $(BENCH_OPEN_LOAD_OBJ)

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

# Peers of the load benchmark (bench/cases/load-peers.mjs, bench/README.md "Against libbpf
# and cilium/ebpf"):
#   make bench-peers   $(BUILD)/bench/open-load             libbpf open+load+close loop (system libbpf)
#                      $(BUILD)/bench/cilium-open-load      the same with cilium/ebpf 0.9.1 (Go),
#                         or cilium-open-load.unavailable   the reason it could not be built
#                      $(BUILD)/bench/load_bench.bpf.o      the realistic object
#                      $(BUILD)/bench/load_bench_nocore.bpf.o  what cilium/ebpf 0.9.1 can load here
# The Go toolchain and cilium/ebpf are Debian packages fetched privately (never installed) by
# scripts/bench-go-peer.sh, pinned in bench/native/go-peer.lock.
BENCH_OPEN_LOAD   := $(BUILD)/bench/open-load
BENCH_CILIUM_LOAD := $(BUILD)/bench/cilium-open-load
BENCH_LOAD_OBJS   := $(BUILD)/bench/load_bench.bpf.o $(BUILD)/bench/load_bench_nocore.bpf.o

.PHONY: bench-peers
bench-peers: $(BENCH_OPEN_LOAD) $(BENCH_CILIUM_LOAD) $(BENCH_LOAD_OBJS)

$(BENCH_OPEN_LOAD): $(TOP)/bench/native/open_load.c | bench-deps
	@mkdir -p $(@D)
	$(CC_NATIVE) -O2 -Wall -Wextra -std=gnu11 $< -o $@ -lbpf

# always re-run: the script is a no-op when the binary is current, and records why not
.PHONY: $(BENCH_CILIUM_LOAD)
$(BENCH_CILIUM_LOAD): $(TOP)/bench/native/cilium_open_load/main.go $(TOP)/bench/native/go-peer.lock
	@$(TOP)/scripts/bench-go-peer.sh $@

$(BUILD)/bench/load_bench.bpf.o: $(TOP)/bench/native/load_bench.bpf.c | bench-deps
	@mkdir -p $(@D)
	$(BENCH_CLANG) -target bpf -O2 -g -mcpu=v3 -Wall -Werror \
	  $(if $(BENCH_MULTIARCH),-I/usr/include/$(BENCH_MULTIARCH)) -c $< -o $@

$(BUILD)/bench/load_bench_nocore.bpf.o: $(TOP)/bench/native/load_bench.bpf.c | bench-deps
	@mkdir -p $(@D)
	$(BENCH_CLANG) -target bpf -O2 -g -mcpu=v3 -Wall -Werror -DLOAD_BENCH_NOCORE \
	  $(if $(BENCH_MULTIARCH),-I/usr/include/$(BENCH_MULTIARCH)) -c $< -o $@

$(BENCH_OPEN_LOAD_PROBE): $(TOP)/bench/native/open_load_probe.c | bench-deps
	@mkdir -p $(@D)
	$(CC_NATIVE) -O2 -Wall -Wextra -std=gnu11 $< -o $@ -lbpf

$(BUILD)/bench/vmlinux.h: | bench-deps
	@mkdir -p $(@D)
	bpftool btf dump file $(BENCH_VMLINUX_BTF) format c > $@.tmp && mv $@.tmp $@

$(BENCH_OPEN_LOAD_OBJ): $(TOP)/bench/native/open_load.bpf.c $(BUILD)/bench/vmlinux.h | bench-deps
	@mkdir -p $(@D)
	$(BENCH_CLANG) -target bpf -O2 -g -mcpu=v3 -Wall -Werror -D__TARGET_ARCH_x86 -I$(BUILD)/bench \
	  $(if $(BENCH_MULTIARCH),-I/usr/include/$(BENCH_MULTIARCH)) -c $< -o $@
