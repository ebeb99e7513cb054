# examples/NAME/NAME.bpf.c -> examples/NAME/NAME.gen.ts through `corebpf gen` (README's gen,
# examples/README.md). The modules are committed: compiled with the pinned clang against a
# kernel BTF fixture (not this machine's), they are the same bytes on any machine.
# Included by the top-level Makefile (TOP, DIST and TD_CLANG come from there).
#
#   make examples         regenerate every examples/*/*.gen.ts
#   make examples-check   regenerate into a temporary directory and fail if a committed
#                         module differs; type-check the examples with tsc --strict

EX_SRCS  := $(sort $(wildcard examples/*/*.bpf.c))
EX_NAMES := $(patsubst examples/%.bpf.c,%,$(EX_SRCS))
EX_BTF   := testdata/btf/amd64-6.1.176.btf.xz
EX_CLANG ?= $(TD_CLANG)
EX_ARCH  ?= x86
# the record types each example reads from its ring buffer (gen --type)
EX_ARGS_execmon := --type event
EX_ARGS_usdt    := --type event

# gen ONE_SOURCE OUTPUT: the same command for `make examples` and for the check; the source
# path is relative to the top, so the module's header is the same wherever it is written
ex_gen = node $(DIST)/cli.js gen $(1) -o $(2) --btf $(EX_BTF) --clang $(EX_CLANG) --target-arch $(EX_ARCH) $(EX_ARGS_$(notdir $(patsubst %.bpf.c,%,$(1))))

.PHONY: examples examples-check examples-tsc
examples: testdata-clang ts
	@$(foreach n,$(EX_NAMES),echo "gen examples/$(n).gen.ts"; cd $(TOP) && $(call ex_gen,examples/$(n).bpf.c,examples/$(n).gen.ts) || exit 1;)

examples-check: testdata-clang ts
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; cd $(TOP); fail=0; \
	$(foreach n,$(EX_NAMES),mkdir -p "$$tmp/$(dir $(n))" && $(call ex_gen,examples/$(n).bpf.c,"$$tmp/$(n).gen.ts") >/dev/null || exit 1; \
	  if [ ! -f examples/$(n).gen.ts ]; then echo "missing: examples/$(n).gen.ts (run make examples)"; fail=1; \
	  elif ! cmp -s "$$tmp/$(n).gen.ts" examples/$(n).gen.ts; then echo "differs: examples/$(n).gen.ts (run make examples)"; fail=1; fi;) \
	for f in examples/*/*.gen.ts; do \
	  [ -e "$$f" ] || continue; \
	  [ -e "$${f%.gen.ts}.bpf.c" ] || { echo "stale (no source): $$f"; fail=1; }; \
	done; \
	[ $$fail = 0 ] || exit 1; \
	echo "examples-check: $(words $(EX_NAMES)) generated modules reproduce byte for byte"
	@$(MAKE) --no-print-directory -s examples-tsc

# the examples' tests and modules under tsc --strict (they use the generated modules only)
examples-tsc: ts
	cd $(TOP) && npx tsc --strict --noEmit -p examples/tsconfig.json
	@echo "examples-tsc: examples/ type-checks under tsc --strict"
