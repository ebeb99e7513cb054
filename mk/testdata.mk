# BPF test corpus: testdata/progs/*.bpf.c -> NAME.bpf.o (bpfel) and NAME.bpfeb.o (bpfeb),
# and synthetic target BTFs testdata/targets/*.target.btf with their expectations.
# Included by the top-level Makefile (TOP, DEPS, SRC, BUILD come from there).
#
#   make testdata         rebuild what is out of date (objects are committed)
#   make -B testdata      rebuild everything
#   make testdata-check   rebuild everything into a temporary directory and fail
#                         if any committed object, target BTF or expectation differs
#
# Objects must be byte-identical on any machine with the pinned clang: no host
# headers (-nostdinc), no absolute paths (-ffile-prefix-map), explicit -mcpu.

TD_CLANG     ?= clang-16
TD_OBJCOPY   ?= llvm-objcopy-16
TD_PYTHON    ?= PYTHONDONTWRITEBYTECODE=1 python3
TD_CLANG_PKG := $(shell sed -n 's/^clang.package[[:space:]]*//p' $(TOP)/emsdk.lock)
TD_LIBBPF    := $(SRC)/libbpf/src
# where outputs go: the tree itself, or a scratch directory for testdata-check
TD_OUT       ?= testdata

TD_SRCS      := $(sort $(wildcard testdata/progs/*.bpf.c))
# programs that read PT_REGS (kprobe / ksyscall arguments) depend on the target architecture:
# they are built once per architecture as NAME.ARCH.bpf.o / NAME.ARCH.bpfeb.o (the tests pick
# the object of process.arch), the others once with __TARGET_ARCH_x86 as NAME.bpf.o / NAME.bpfeb.o
TD_ARCH_NAMES := kernel_hooks usdt
TD_ARCHES    := x86 arm64
TD_NAMES     := $(filter-out $(TD_ARCH_NAMES),$(patsubst testdata/progs/%.bpf.c,%,$(TD_SRCS)))
TD_HDRS      := $(wildcard testdata/include/*.h)
# programs that also have a -DTARGET variant giving a synthetic target BTF
TD_TARGETS   := core_target core_ambiguous

TD_OBJS      = $(foreach n,$(TD_NAMES),$(TD_OUT)/progs/$(n).bpf.o $(TD_OUT)/progs/$(n).bpfeb.o) \
               $(foreach n,$(TD_ARCH_NAMES),$(foreach a,$(TD_ARCHES),$(TD_OUT)/progs/$(n).$(a).bpf.o $(TD_OUT)/progs/$(n).$(a).bpfeb.o))
# objects that only check --verify asks the lab's kernels about (test/check-verify.test.ts),
# outside the corpus every other test walks: little-endian only
TD_VERIFY_NAMES := $(patsubst testdata/verify/%.bpf.c,%,$(sort $(wildcard testdata/verify/*.bpf.c)))
TD_OBJS     += $(foreach n,$(TD_VERIFY_NAMES),$(TD_OUT)/verify/$(n).bpf.o)
TD_BTFS      = $(foreach n,$(TD_TARGETS),$(TD_OUT)/targets/$(n).target.btf)
TD_EXPECTED  = $(foreach n,$(TD_TARGETS),$(TD_OUT)/targets/$(n).expected.json)

TD_CFLAGS_ANYARCH := -g -O2 -mcpu=v3 \
	-Wall -Werror -Wno-unused-function \
	-nostdinc -Itestdata/include -I$(TD_LIBBPF) \
	-ffile-prefix-map=$(TOP)=. -ffile-prefix-map=$(TD_LIBBPF)=libbpf
TD_CFLAGS := -g -O2 -mcpu=v3 -D__TARGET_ARCH_x86 \
	-Wall -Werror -Wno-unused-function \
	-nostdinc -Itestdata/include -I$(TD_LIBBPF) \
	-ffile-prefix-map=$(TOP)=. -ffile-prefix-map=$(TD_LIBBPF)=libbpf

.PHONY: testdata testdata-check testdata-clang testdata-libbpf-headers
testdata: testdata-clang
	@$(MAKE) --no-print-directory -C $(TOP) testdata-build

.PHONY: testdata-build
testdata-build: $(TD_OBJS) $(TD_BTFS) $(TD_EXPECTED)

# refuse a clang other than the pinned one: objects would differ
testdata-clang:
	@want='$(TD_CLANG_PKG)'; pkg=$${want%%=*}; ver=$${want#*=}; \
	got=$$(dpkg-query -W -f='$${Version}' "$$pkg" 2>/dev/null || true); \
	if [ "$(TD_CLANG)" = clang-16 ] && [ "$$got" != "$$ver" ]; then \
	  echo "error: $$pkg is '$$got' but emsdk.lock pins '$$want'." >&2; \
	  echo "       install it with: apt-get install '$$want'" >&2; exit 1; fi

testdata-libbpf-headers:
	@test -f $(TD_LIBBPF)/bpf_helpers.h || $(TOP)/scripts/fetch-sources.sh libbpf

$(TD_OUT)/progs/%.bpf.o: testdata/progs/%.bpf.c $(TD_HDRS) mk/testdata.mk | testdata-libbpf-headers
	@mkdir -p $(@D)
	cd $(TOP) && $(TD_CLANG) -target bpfel $(TD_CFLAGS) -c $< -o $@

$(TD_OUT)/progs/%.bpfeb.o: testdata/progs/%.bpf.c $(TD_HDRS) mk/testdata.mk | testdata-libbpf-headers
	@mkdir -p $(@D)
	cd $(TOP) && $(TD_CLANG) -target bpfeb $(TD_CFLAGS) -c $< -o $@

$(TD_OUT)/verify/%.bpf.o: testdata/verify/%.bpf.c $(TD_HDRS) mk/testdata.mk | testdata-libbpf-headers
	@mkdir -p $(@D)
	cd $(TOP) && $(TD_CLANG) -target bpfel $(TD_CFLAGS) -c $< -o $@

# per-architecture objects (the shorter stem makes these rules win over the ones above)
define TD_ARCH_RULES
$$(TD_OUT)/progs/%.$(1).bpf.o: testdata/progs/%.bpf.c $$(TD_HDRS) mk/testdata.mk | testdata-libbpf-headers
	@mkdir -p $$(@D)
	cd $$(TOP) && $$(TD_CLANG) -target bpfel $$(TD_CFLAGS_ANYARCH) -D__TARGET_ARCH_$(1) -c $$< -o $$@

$$(TD_OUT)/progs/%.$(1).bpfeb.o: testdata/progs/%.bpf.c $$(TD_HDRS) mk/testdata.mk | testdata-libbpf-headers
	@mkdir -p $$(@D)
	cd $$(TOP) && $$(TD_CLANG) -target bpfeb $$(TD_CFLAGS_ANYARCH) -D__TARGET_ARCH_$(1) -c $$< -o $$@
endef
$(foreach a,$(TD_ARCHES),$(eval $(call TD_ARCH_RULES,$(a))))

# synthetic target: the same source with -DTARGET declares the target layouts;
# its .BTF section, extracted raw, is the "kernel" BTF to relocate against
$(TD_OUT)/targets/%.target.btf: testdata/progs/%.bpf.c $(TD_HDRS) mk/testdata.mk | testdata-libbpf-headers
	@mkdir -p $(@D)
	cd $(TOP) && $(TD_CLANG) -target bpfel $(TD_CFLAGS) -DTARGET -c $< -o $@.o
	$(TD_OBJCOPY) --dump-section .BTF=$@.tmp $@.o $@.o.discard
	@rm -f $@.o $@.o.discard
	@$(TD_PYTHON) testdata/targets/corerelo.py btf-magic $@.tmp || \
	  { echo "error: $@: extracted .BTF does not start with the BTF magic" >&2; rm -f $@.tmp; exit 1; }
	@mv $@.tmp $@

# expectations: values written by hand in testdata/targets/NAME_expected.py,
# laid out in the object's relocation order (the script fails on any mismatch)
$(TD_OUT)/targets/%.expected.json: testdata/targets/%_expected.py testdata/targets/corerelo.py \
		$(TD_OUT)/progs/%.bpf.o $(TD_OUT)/targets/%.target.btf
	$(TD_PYTHON) $< $(TD_OUT)/progs/$*.bpf.o $(TD_OUT)/targets/$*.target.btf > $@.tmp
	@mv $@.tmp $@

testdata-check: testdata-clang
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(MAKE) --no-print-directory -s -C $(TOP) -B testdata-build TD_OUT="$$tmp" >/dev/null || exit 1; \
	fail=0; n=0; \
	for f in $(patsubst $(TD_OUT)/%,%,$(TD_OBJS) $(TD_BTFS) $(TD_EXPECTED)); do \
	  n=$$((n+1)); \
	  if [ ! -f "testdata/$$f" ]; then echo "missing: testdata/$$f (run make testdata)"; fail=1; \
	  elif ! cmp -s "$$tmp/$$f" "testdata/$$f"; then echo "differs: testdata/$$f"; fail=1; fi; \
	done; \
	for f in testdata/progs/*.o testdata/verify/*.o testdata/targets/*.btf testdata/targets/*.json; do \
	  [ -e "$$f" ] || continue; \
	  [ -e "$$tmp/$${f#testdata/}" ] || { echo "stale (no source): $$f"; fail=1; }; \
	done; \
	if [ $$fail = 0 ]; then echo "testdata-check: $$n files reproduce byte for byte"; fi; \
	exit $$fail
