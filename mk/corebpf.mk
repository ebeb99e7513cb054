# Our glue (virtual kernel, CO-RE report, plan writer) linked with libbpf, libelf, zlib:
#   $(DIST)/wasm/corebpf.cjs + corebpf.wasm   (emcc, MODULARIZE CommonJS for Node)
#   $(BUILD)/native/corebpf-native            (gcc: the oracle and benchmark baseline)
# the virtual kernel (also compiled into the stock oracle, mk/stock.mk)
VK_NAMES := vk vk_syscall vk_map vk_prog vk_btf vk_host
GLUE_NAMES := $(VK_NAMES) core_report core_report_fmt corebpf log inputs target run result plan plan_map plan_endian json \
  cand_index modbtf adjust target_prog btf_dump btfgen btf_guard
GLUE_SRCS := $(patsubst %,$(TOP)/wasm/%.c,$(GLUE_NAMES))
GLUE_CPPFLAGS = -std=gnu11 -D_GNU_SOURCE $(LIBBPF_INCLUDES) -Wall -Wno-unused-parameter
# glue that includes libbpf's internal headers sees the same redirections as libbpf
# (the virtual kernel, VK_NAMES, implements them and must reach the real functions)
$(foreach f,corebpf log inputs target run result plan plan_map plan_endian core_report core_report_fmt cand_index adjust btfgen btf_guard,$(BUILD)/wasm/obj/glue/$(f).o $(BUILD)/native/obj/glue/$(f).o): GLUE_EXTRA = -include $(TOP)/wasm/vk_redirect.h
GLUE_WASM_OBJS := $(patsubst %,$(BUILD)/wasm/obj/glue/%.o,$(GLUE_NAMES))
GLUE_NATIVE_OBJS := $(patsubst %,$(BUILD)/native/obj/glue/%.o,$(GLUE_NAMES) main)

WASM_OUT := $(DIST)/wasm/corebpf.cjs
NATIVE_OUT := $(BUILD)/native/corebpf-native
# the glue's entry points: the CB_EXPORT functions of wasm/*.c (one source; the worker's
# TypeScript declarations are generated from them too: make exports)
CB_EXPORTS := $(shell node scripts/gen-exports.mjs --list) malloc free
comma := ,
empty :=
space := $(empty) $(empty)
CB_EXPORTS_LIST := $(subst $(space),$(comma),$(patsubst %,'_%',$(CB_EXPORTS)))

# growth is bounded: past it malloc fails and libbpf reports ENOMEM (a typed error), instead
# of one hostile input taking the process's memory (src/worker/wasm.ts WASM_MAX_MEMORY)
WASM_MAX_MEMORY := 1073741824
# instantiateWasm: the worker instantiates the module the pool compiled (src/worker/pool.ts).
# INITIAL_MEMORY costs no RSS until touched (16 MiB measured the same peak RSS as 128 MiB,
# bench/README.md Start-up and memory), so it stays where growth is rare.
WASM_LDFLAGS := -O2 -sMODULARIZE=1 -sEXPORT_NAME=createCorebpf -sENVIRONMENT=node \
  -sALLOW_MEMORY_GROWTH=1 -sINITIAL_MEMORY=134217728 -sMAXIMUM_MEMORY=$(WASM_MAX_MEMORY) -sTOTAL_STACK=1048576 \
  -sEXPORTED_FUNCTIONS="[$(CB_EXPORTS_LIST)]" \
  -sEXPORTED_RUNTIME_METHODS="['UTF8ToString','stringToUTF8','lengthBytesUTF8']" \
  -sINCOMING_MODULE_JS_API="['wasmBinary','instantiateWasm','print','printErr','onAbort']" \
  -sNODEJS_CATCH_EXIT=0 -sNODEJS_CATCH_REJECTION=0

.PHONY: wasm native
wasm: toolchain $(WASM_OUT)
native: $(NATIVE_OUT)

$(BUILD)/wasm/obj/glue/%.o: $(TOP)/wasm/%.c $(wildcard $(TOP)/wasm/*.h) $(LIBBPF_DEPS) | $(WASM_UAPI_DEPS)
	@mkdir -p $(@D)
	$(EMCC) -O2 $(GLUE_CPPFLAGS) $(GLUE_EXTRA) $(WASM_UAPI_CFLAGS) $(THIRDPARTY_REPRO_CFLAGS) -MMD -MP -c $< -o $@
$(BUILD)/native/obj/glue/%.o: $(TOP)/wasm/%.c $(wildcard $(TOP)/wasm/*.h) $(LIBBPF_DEPS)
	@mkdir -p $(@D)
	$(CC_NATIVE) -O2 $(GLUE_CPPFLAGS) $(GLUE_EXTRA) $(THIRDPARTY_REPRO_CFLAGS) -MMD -MP -c $< -o $@
$(BUILD)/native/obj/glue/main.o: $(TOP)/wasm/native/main.c $(TOP)/wasm/cb_result.h
	@mkdir -p $(@D)
	$(CC_NATIVE) -O2 -std=gnu11 -Wall -c $< -o $@

$(WASM_OUT): $(GLUE_WASM_OBJS) $(WASM_LIBBPF) $(WASM_LIBS_ELF)
	@mkdir -p $(@D)
	$(EMCC) $(WASM_LDFLAGS) $(GLUE_WASM_OBJS) $(WASM_LIBBPF) $(WASM_LIBS_ELF) -o $@
$(NATIVE_OUT): $(GLUE_NATIVE_OBJS) $(NATIVE_LIBBPF) $(NATIVE_LIBS_ELF)
	@mkdir -p $(@D)
	$(CC_NATIVE) -O2 $(GLUE_NATIVE_OBJS) $(NATIVE_LIBBPF) $(NATIVE_LIBS_ELF) -o $@

-include $(wildcard $(GLUE_WASM_OBJS:.o=.d) $(GLUE_NATIVE_OBJS:.o=.d))
