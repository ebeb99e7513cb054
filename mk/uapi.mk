# Constants and bpf_attr/struct layouts generated from the pinned libbpf UAPI headers, and the
# C library's values per architecture (x86_64, aarch64, riscv64: cross compilers + qemu-user).
#   make uapi         regenerate src/host/generated/ (uapi.ts, libc.ts, libc-ARCH.ts)
#   make uapi-check   fail if a committed file differs from a fresh generation
.PHONY: uapi uapi-check
UAPI_DIR := src/host/generated
UAPI_GEN := scripts/gen-uapi.mjs

uapi: | $(SRC)/.fetched
	node $(UAPI_GEN) --libbpf $(SRC)/libbpf --out-dir $(UAPI_DIR) --cc $(CC_NATIVE)

uapi-check: | $(SRC)/.fetched
	node $(UAPI_GEN) --libbpf $(SRC)/libbpf --out-dir $(UAPI_DIR) --cc $(CC_NATIVE) --check

# libbpf's section table (section_defs[] and enum sec_def_flags), as cilium/ebpf generates
# its elf_sections.go:
#   make sections         regenerate src/host/generated/sections.ts
#   make sections-check   fail if the committed file differs from a fresh generation
.PHONY: sections sections-check
sections: | $(SRC)/.fetched
	node scripts/gen-sections.mjs --libbpf $(SRC)/libbpf --out $(UAPI_DIR)/sections.ts

sections-check: | $(SRC)/.fetched
	node scripts/gen-sections.mjs --libbpf $(SRC)/libbpf --out $(UAPI_DIR)/sections.ts --check

# the wasm glue's entry points for TypeScript, from the CB_EXPORT functions of wasm/*.c:
#   make exports         regenerate src/worker/generated/exports.ts
#   make exports-check   fail if the committed file differs from a fresh generation
.PHONY: exports exports-check
exports:
	node scripts/gen-exports.mjs

exports-check:
	node scripts/gen-exports.mjs --check

# the result protocol of the glue's entry points (header layout, version, kinds), from
# wasm/result-protocol.json:
#   make result-protocol         regenerate wasm/cb_result.h and src/worker/generated/result-protocol.ts
#   make result-protocol-check   fail if either differs from a fresh generation, or a CB_EXPORT
#                                returning a result (char *) is no kind's export
.PHONY: result-protocol result-protocol-check
result-protocol:
	node scripts/gen-result-protocol.mjs

result-protocol-check:
	node scripts/gen-result-protocol.mjs --check
