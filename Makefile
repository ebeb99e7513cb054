# corebpf build: pinned sources -> zlib, libelf, libbpf with emcc -> wasm glue -> dist/wasm/
# and the native (gcc) build of the same C: the oracle and the benchmark baseline.
#
#   make demo       install what is missing, build, run the main job (README)
#   make test       install what is missing, build, run the test suite (README)
#   make lab        the real-kernel suites in qemu on Debian's kernels (KERNELS=6.1 for one)
#   make            fetch + wasm + TypeScript
#   make native     build/native/corebpf-native, build/native/feature-oracle
#   make testdata   rebuild testdata objects with the pinned clang
#   make check      generated files, test objects and example modules up to date, wasm build reproducible
#   make examples   regenerate examples/*/*.gen.ts from their .bpf.c (corebpf gen)
#   make fuzz       libFuzzer + ASan + UBSan on the glue's entry points (docs/fuzzing.md)
#   make check-toolchain   fail unless emcc is exactly the pinned version
#   make api-docs   the API reference of src/index.ts (typedoc) into build/api/
SHELL := /bin/bash
# no built-in rules: with them, the included .d files would chain into our %.o rules
MAKEFLAGS += --no-builtin-rules
.SUFFIXES:
TOP   := $(abspath .)
DEPS  ?= $(TOP)/.deps
BUILD ?= $(TOP)/build
SRC   := $(DEPS)/src
DIST  ?= $(TOP)/dist
export NODE_PATH := /usr/share/nodejs

EMCC ?= emcc
EMAR ?= emar
CC_NATIVE ?= gcc
AR_NATIVE ?= ar
NPROC := $(shell nproc)

.PHONY: all ts fetch toolchain check-toolchain testdata clean distclean deps demo test check wasm-repro
all: wasm ts

deps:
	scripts/install-deps.sh

demo: deps
	$(MAKE) -s all
	node dist/cli.js demo

test: deps
	$(MAKE) -s all native stock-oracle
	npx vitest run

.PHONY: pack-check
# the npm package as installed: file list, then --version, relocate and demo from an empty project
pack-check: all
	scripts/pack-check.sh

.PHONY: api-docs
# the API reference of the public entry point (typedoc.json: src/index.ts) into build/api/;
# typedoc fails on any warning (an undocumented export, a type it cannot link, a broken
# {@link}), then the check: a page for every export, the main classes' members, no dead link
# (typedoc skips type-checking, skipErrorChecking: tsc does that in `make ts`, and it halves the time)
api-docs:
	@test -x node_modules/.bin/typedoc || { echo "make: the npm dependencies are not installed: run 'npm ci' (or 'make deps', which installs everything) first" >&2; exit 1; }
	npx typedoc --logLevel Warn --out $(BUILD)/api
	node scripts/api-docs-check.mjs $(BUILD)/api

# the same sources built a second time elsewhere give the same wasm bytes
wasm-repro: wasm
	rm -rf $(BUILD)/repro && mkdir -p $(BUILD)/repro
	$(MAKE) -s BUILD=$(BUILD)/repro/build DIST=$(BUILD)/repro/dist $(BUILD)/repro/dist/wasm/corebpf.cjs >/dev/null
	cd $(DIST)/wasm && sha256sum corebpf.wasm corebpf.cjs > $(BUILD)/repro/sums
	cd $(BUILD)/repro/dist/wasm && sha256sum -c --quiet $(BUILD)/repro/sums
	@echo "wasm-repro: two builds give identical corebpf.wasm and corebpf.cjs ($$(cut -c1-16 $(BUILD)/repro/sums | tr '\n' ' '))"

check: uapi-check sections-check exports-check result-protocol-check testdata-check examples-check wasm-repro lab-list-check

fetch: $(SRC)/.fetched
$(SRC)/.fetched: emsdk.lock scripts/fetch-sources.sh
	scripts/fetch-sources.sh
	touch $@

# emscripten comes from Debian; refuse any other version than the pinned one
EMCC_WANT := $(shell sed -n 's/^emscripten.version[[:space:]]*//p' emsdk.lock)
EMCC_PKG  := $(shell sed -n 's/^emscripten.package[[:space:]]*//p' emsdk.lock)
toolchain:
	@command -v $(EMCC) >/dev/null || { echo "installing $(EMCC_PKG)"; DEBIAN_FRONTEND=noninteractive apt-get install -y -q '$(EMCC_PKG)' >/dev/null; }
	@$(MAKE) -s check-toolchain
check-toolchain:
	@got="$$($(EMCC) --version 2>/dev/null | head -1)"; \
	if [ "$$got" != "$(EMCC_WANT)" ]; then \
	  echo "error: emcc is '$$got' but emsdk.lock pins '$(EMCC_WANT)' ($(EMCC_PKG))." >&2; \
	  echo "       install it with: apt-get install '$(EMCC_PKG)'" >&2; exit 1; fi

include mk/zlib.mk
include mk/libelf.mk
include wasm/libbpf/libbpf.mk
include mk/corebpf.mk
-include mk/testdata.mk
include mk/examples.mk
include mk/uapi.mk
include mk/stock.mk
include mk/feature-oracle.mk
include mk/bench.mk
include mk/lab.mk
include mk/fuzz.mk

# libbpf's BPF-side headers, shipped so `corebpf gen prog.bpf.c` (and users' own clang
# builds) compile with the helpers of the libbpf inside the wasm: #include <bpf/bpf_helpers.h>
BPF_HEADER_NAMES := bpf_helpers.h bpf_helper_defs.h bpf_tracing.h bpf_core_read.h bpf_endian.h usdt.bpf.h
BPF_HEADERS := $(addprefix $(DIST)/include/bpf/,$(BPF_HEADER_NAMES))
$(DIST)/include/bpf/%.h: $(SRC)/.fetched
	@mkdir -p $(@D)
	cp $(SRC)/libbpf/src/$*.h $@

# usdt.bpf.h includes <linux/errno.h>, whose system copy includes the per-architecture
# <asm/errno.h> (/usr/include/<triplet>/asm): not on clang -target bpf's search path, so any
# program with usdt.bpf.h failed to compile. BPF takes the generic numbers (asm-generic is in
# /usr/include, linux-libc-dev, which Debian's clang depends on through libc6-dev).
$(DIST)/include/linux/errno.h: Makefile
	@mkdir -p $(@D)
	@printf '%s\n' '/* corebpf: <linux/errno.h> for BPF programs (see the Makefile) */' \
	  '#include <asm-generic/errno.h>' > $@

ts: $(DIST)/index.js $(DIST)/THIRD_PARTY_NOTICES $(BPF_HEADERS) $(DIST)/include/linux/errno.h

# the licenses of what the wasm bundles, from the pinned sources' own files
$(DIST)/THIRD_PARTY_NOTICES: scripts/third-party-notices.sh emsdk.lock | $(SRC)/.fetched
	@mkdir -p $(@D)
	scripts/third-party-notices.sh $(SRC) $@
TS_SRC := $(shell find src -name '*.ts' 2>/dev/null)
$(DIST)/index.js: $(TS_SRC) tsconfig.json rollup.config.mjs package.json
	@test -x node_modules/.bin/tsc || { echo "make: the npm dependencies are not installed: run 'npm ci' (or 'make deps', which installs everything) first" >&2; exit 1; }
	npx tsc -p tsconfig.json
	npx rollup -c rollup.config.mjs --silent
	@rm -f $(DIST)/worker.js # the worker's bundle before it was CommonJS (dist/worker.cjs): npm pack would ship it

%.d: ;

clean:
	rm -rf $(BUILD) $(DIST)
distclean: clean
	rm -rf $(DEPS)
