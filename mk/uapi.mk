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
