# corebpf build: pinned sources -> zlib, libelf, libbpf with emcc -> wasm glue -> dist/wasm/
# and the native (gcc) build of the same C: the oracle and the benchmark baseline.
#
#   make demo       install what is missing, build, run the main job (README)
#   make test       install what is missing, build, run the test suite (README)
#   make lab        the real-kernel suites in qemu on Debian's kernels (KERNELS=6.1 for one)
#   make            fetch + wasm + TypeScript
#   make native     build/native/corebpf-native, build/native/feature-oracle
#   make testdata   rebuild testdata objects with the pinned clang
#   make check      generated files and test objects up to date, wasm build reproducible
#   make fuzz       libFuzzer + ASan + UBSan on the glue's entry points (docs/fuzzing.md)
#   make check-toolchain   fail unless emcc is exactly the pinned version
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

# the same sources built a second time elsewhere give the same wasm bytes
wasm-repro: wasm
	rm -rf $(BUILD)/repro && mkdir -p $(BUILD)/repro
	$(MAKE) -s BUILD=$(BUILD)/repro/build DIST=$(BUILD)/repro/dist $(BUILD)/repro/dist/wasm/corebpf.cjs >/dev/null
	cd $(DIST)/wasm && sha256sum corebpf.wasm corebpf.cjs > $(BUILD)/repro/sums
	cd $(BUILD)/repro/dist/wasm && sha256sum -c --quiet $(BUILD)/repro/sums
	@echo "wasm-repro: two builds give identical corebpf.wasm and corebpf.cjs ($$(cut -c1-16 $(BUILD)/repro/sums | tr '\n' ' '))"

check: uapi-check sections-check exports-check result-protocol-check testdata-check wasm-repro lab-list-check

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
include mk/uapi.mk
include mk/stock.mk
include mk/feature-oracle.mk
include mk/bench.mk
include mk/lab.mk
include mk/fuzz.mk

ts: $(DIST)/index.js $(DIST)/THIRD_PARTY_NOTICES

# the licenses of what the wasm bundles, from the pinned sources' own files
$(DIST)/THIRD_PARTY_NOTICES: scripts/third-party-notices.sh emsdk.lock | $(SRC)/.fetched
	@mkdir -p $(@D)
	scripts/third-party-notices.sh $(SRC) $@
TS_SRC := $(shell find src -name '*.ts' 2>/dev/null)
$(DIST)/index.js: $(TS_SRC) tsconfig.json rollup.config.mjs package.json
	@test -x node_modules/.bin/tsc || { echo "make: the npm dependencies are not installed: run 'npm ci' (or 'make deps', which installs everything) first" >&2; exit 1; }
	npx tsc -p tsconfig.json
	npx rollup -c rollup.config.mjs --silent

%.d: ;

clean:
	rm -rf $(BUILD) $(DIST)
distclean: clean
	rm -rf $(DEPS)
