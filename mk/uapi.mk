# Constants and bpf_attr/struct layouts generated from the pinned libbpf UAPI headers.
#   make uapi         regenerate src/host/generated/uapi.ts
#   make uapi-check   fail if the committed file differs from a fresh generation
.PHONY: uapi uapi-check
UAPI_TS  := src/host/generated/uapi.ts
UAPI_GEN := scripts/gen-uapi.mjs

uapi: | $(SRC)/.fetched
	node $(UAPI_GEN) --libbpf $(SRC)/libbpf --out $(UAPI_TS) --cc $(CC_NATIVE)

uapi-check: | $(SRC)/.fetched
	node $(UAPI_GEN) --libbpf $(SRC)/libbpf --out $(UAPI_TS) --cc $(CC_NATIVE) --check
