# Fuzzing the C core natively, as libbpf is fuzzed on OSS-Fuzz: libFuzzer + ASan + UBSan
# builds of the glue's exported entry points (the functions the wasm module exports), over
# the same libbpf, libelf and zlib sources and rules as `make native` -- built a second
# time with clang and the sanitizers under build/fuzz/ (a recursive make with BUILD and
# CC_NATIVE replaced, like feature-oracle-arm64). docs/fuzzing.md explains the targets.
#
#   make fuzz                     each target FUZZ_SECONDS (20) on the committed corpus;
#                                 fails on any crash, leak or sanitizer report
#   make fuzz FUZZ_RUNS=1000000   each target for that many executions instead
#   make fuzz FUZZ_TARGETS=kconfig   one target
#   make fuzz-build               only build build/fuzz/fuzz_<target>
#   make fuzz-regressions         replay fuzz/regressions/<target>/* once (part of make fuzz)
#   make fuzz-merge               minimize build/fuzz/corpus/<target> into fuzz/corpus/<target>
FUZZ_CC      ?= clang-16
FUZZ_BUILD   := $(BUILD)/fuzz
FUZZ_ALL     := reloc open target_btf kconfig kallsyms
FUZZ_TARGETS ?= $(FUZZ_ALL)
FUZZ_SECONDS ?= 20
FUZZ_RUNS    ?=
FUZZ_FLAGS   ?=
# -fno-sanitize-recover: a UBSan finding aborts (libFuzzer keeps the input) instead of
# printing and going on. Alignment is not checked: libbpf reads BTF types in place at
# whatever offset the header gives (btf.h btf_kind() on a type_off of 3, say), which is
# defined on both machines the C runs on (wasm32 loads have no alignment requirement;
# x86-64) -- regression input fuzz/regressions/target_btf/unaligned-type-off. Nor is
# nonnull-attribute: libbpf copies an empty .BTF section with memcpy(dst, NULL, 0), which
# no C library minds; a NULL source with a length would still fault, and ASan report it
# (fuzz/regressions/reloc/empty-btf-section).
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize=alignment,nonnull-attribute -fno-sanitize-recover=all \
  -fno-omit-frame-pointer -g
FUZZ_CC_LIB := $(FUZZ_CC) -fsanitize=fuzzer-no-link $(FUZZ_SAN)

# fixed inputs of the targets that fuzz one input among several (decompressed from the
# testdata fixtures at build time; nothing decompressed is committed)
FUZZ_BTF_FIXTURE := amd64-6.12.107
FUZZ_TARGET_BTF  := $(FUZZ_BUILD)/inputs/$(FUZZ_BTF_FIXTURE).btf
FUZZ_DEFS := -DFUZZ_DEFAULT_TARGET_BTF='"$(FUZZ_TARGET_BTF)"' \
  -DFUZZ_DEFAULT_SMALL_TARGET_BTF='"$(TOP)/testdata/targets/core_target.target.btf"' \
  -DFUZZ_DEFAULT_KCONFIG_OBJECT='"$(TOP)/testdata/progs/kconfig.bpf.o"' \
  -DFUZZ_DEFAULT_KSYMS_OBJECT='"$(TOP)/testdata/progs/ksyms.bpf.o"'

FUZZ_LIBS := $(FUZZ_BUILD)/native/lib/libbpf.a $(FUZZ_BUILD)/native/lib/libelf.a $(FUZZ_BUILD)/native/lib/libz.a
FUZZ_GLUE := $(patsubst %,$(FUZZ_BUILD)/native/obj/glue/%.o,$(GLUE_NAMES))
FUZZ_BINS := $(patsubst %,$(FUZZ_BUILD)/fuzz_%,$(FUZZ_ALL))

.PHONY: fuzz fuzz-build fuzz-corpus fuzz-regressions fuzz-libs fuzz-merge
fuzz-build: $(FUZZ_BINS) $(FUZZ_TARGET_BTF)

# the glue and the libraries through the native rules (mk/corebpf.mk, libbpf.mk,
# libelf.mk, zlib.mk), compiled by clang with coverage and sanitizers
fuzz-libs:
	@command -v $(FUZZ_CC) >/dev/null || { echo "fuzz: $(FUZZ_CC) missing (scripts/install-deps.sh)" >&2; exit 1; }
	@$(MAKE) -s BUILD=$(FUZZ_BUILD) CC_NATIVE='$(FUZZ_CC_LIB)' $(FUZZ_LIBS) $(FUZZ_GLUE)

$(FUZZ_BUILD)/fuzz_%: $(TOP)/fuzz/fuzz_%.c $(TOP)/fuzz/fuzz.h fuzz-libs
	$(FUZZ_CC) -O1 -std=gnu11 -Wall -fsanitize=fuzzer $(FUZZ_SAN) $(FUZZ_DEFS) $< $(FUZZ_GLUE) $(FUZZ_LIBS) -o $@

$(FUZZ_BUILD)/inputs/%.btf: $(TOP)/testdata/btf/%.btf.xz
	@mkdir -p $(@D)
	xz -dc $< > $@.tmp && mv $@.tmp $@

# Seeds: the committed corpus (fuzz/corpus/<target>/) plus, in the build dir only, the
# test objects of testdata/ and their .BTF sections, and real fixtures decompressed
FUZZ_SEEDS := $(FUZZ_BUILD)/seeds
fuzz-corpus: $(FUZZ_BUILD)/inputs/amd64-6.1.176.mod-ext4.btf
	@rm -rf $(FUZZ_SEEDS) && mkdir -p $(patsubst %,$(FUZZ_SEEDS)/%,$(FUZZ_ALL))
	@cp $(TOP)/testdata/progs/*.o $(FUZZ_SEEDS)/reloc/
	@cp $(TOP)/testdata/progs/*.o $(FUZZ_SEEDS)/open/
	@cp $(TOP)/testdata/targets/*.btf $(FUZZ_BUILD)/inputs/amd64-6.1.176.mod-ext4.btf $(FUZZ_SEEDS)/target_btf/
	@cp $(TOP)/testdata/progs/static_prog.bpf.o $(TOP)/testdata/progs/core_basic.bpfeb.o $(FUZZ_SEEDS)/target_btf/
	@set -e; for o in $(TOP)/testdata/progs/*.bpf.o; do \
	  llvm-objcopy-16 --dump-section .BTF=$(FUZZ_SEEDS)/target_btf/$$(basename $$o .bpf.o).BTF $$o /dev/null; done
	@xz -dc $(TOP)/testdata/btf/amd64-6.12.107.config.xz | grep -E '^(CONFIG_(BPF|HZ|NR_CPUS|DEFAULT_HOSTNAME)|# CONFIG_BPF)' > $(FUZZ_SEEDS)/kconfig/amd64-6.12.107.config.bpf
	@xz -dc $(TOP)/testdata/btf/amd64-6.12.107.kallsyms.xz | grep -wE 'bpf_prog_active|vfs_read|bpf_task_from_pid|bpf_task_release' > $(FUZZ_SEEDS)/kallsyms/amd64-6.12.107.kallsyms.used

# New inputs go to the build dir's corpus; `make fuzz-merge` folds those of at most 2 KiB
# that add coverage into the committed fuzz/corpus/<target>/ (how it was made)
FUZZ_LIMIT = $(if $(FUZZ_RUNS),-runs=$(FUZZ_RUNS),-max_total_time=$(FUZZ_SECONDS))
fuzz: fuzz-build fuzz-corpus fuzz-regressions
	@set -e; for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$t; \
	  echo "fuzz: $$t ($(FUZZ_LIMIT))"; \
	  $(FUZZ_BUILD)/fuzz_$$t $(FUZZ_LIMIT) -timeout=60 -print_final_stats=1 \
	    -dict=$(TOP)/fuzz/corebpf.dict -artifact_prefix=$(FUZZ_BUILD)/crash-$$t- $(FUZZ_FLAGS) \
	    $(FUZZ_BUILD)/corpus/$$t $(TOP)/fuzz/corpus/$$t $(FUZZ_SEEDS)/$$t \
	    > $(FUZZ_BUILD)/fuzz_$$t.log 2>&1 || { tail -60 $(FUZZ_BUILD)/fuzz_$$t.log >&2; \
	      echo "fuzz: $$t FAILED (input saved as $(FUZZ_BUILD)/crash-$$t-*; log $(FUZZ_BUILD)/fuzz_$$t.log)" >&2; exit 1; }; \
	  grep -E '^(#[0-9]+.*(DONE|pulse)|stat::number_of_executed_units|stat::average_exec_per_sec)' $(FUZZ_BUILD)/fuzz_$$t.log | tail -3; \
	done

# every saved crash input, once through its target (libFuzzer runs files given as
# arguments once each, and fails on the first that still crashes)
fuzz-regressions: fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do \
	  files=$$(find $(TOP)/fuzz/regressions/$$t -type f 2>/dev/null | sort); \
	  [ -n "$$files" ] || continue; \
	  $(FUZZ_BUILD)/fuzz_$$t $$files > $(FUZZ_BUILD)/regressions_$$t.log 2>&1 || { tail -60 $(FUZZ_BUILD)/regressions_$$t.log >&2; \
	    echo "fuzz: a regression input of $$t crashes again" >&2; exit 1; }; \
	  echo "fuzz: $$t: $$(echo $$files | wc -w) regression inputs pass"; \
	done

fuzz-merge: fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do \
	  $(FUZZ_BUILD)/fuzz_$$t -merge=1 -max_len=2048 $(TOP)/fuzz/corpus/$$t $(FUZZ_BUILD)/corpus/$$t > $(FUZZ_BUILD)/merge_$$t.log 2>&1; \
	  echo "fuzz-merge: $$t: $$(ls $(TOP)/fuzz/corpus/$$t | wc -l) inputs"; \
	done
