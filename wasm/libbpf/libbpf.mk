# libbpf 1.5.0 (pinned in emsdk.lock) -> $(BUILD)/{wasm,native}/lib/libbpf.a
#
# libbpf's own sources, unmodified. Its syscalls and host queries are redirected at
# compile time to the virtual kernel (wasm/vk*.c) by force-including wasm/vk_redirect.h;
# features.c is compiled inside wasm/libbpf/features_preset.c so the feature cache can be
# preset from a profile, btf.c inside btf_unit.c so that btf__new() can keep the buffer a
# target's BTF was copied into instead of copying it again. In libbpf.c only, four functions are renamed to our wrappers:
#   bpf_core_calc_relo_insn, bpf_core_patch_insn -> the CO-RE report (wasm/core_report.c)
#   btf__load_vmlinux_btf, btf__free             -> the parsed target BTF, kept across loads
#   bpf_core_add_cands                           -> candidate search through a name index
#                                                   of the target (wasm/cand_index.c); a
#                                                   macro renames libbpf's definition and
#                                                   its callers alike, so the definition is
#                                                   made weak and ours, strong, wins the link
#   libbpf_num_possible_cpus                     -> the virtual kernel's CPU count (same way)
LIBBPF_DIR := $(SRC)/libbpf
# libbpf.c is compiled inside wasm/libbpf/libbpf_unit.c, btf.c inside btf_unit.c, features.c
# inside features_preset.c
LIBBPF_NAMES := bpf btf_dump btf_iter btf_relocate bpf_prog_linfo elf gen_loader \
  hashmap libbpf_errno libbpf_probes linker netlink nlattr relo_core ringbuf \
  str_error strset usdt zip
LIBBPF_UNITS := btf_unit features_preset libbpf_unit relo_core_fmt

LIBBPF_GEN := $(BUILD)/gen
LIBBPF_FEAT_NAMES := $(LIBBPF_GEN)/feat_names.h

LIBBPF_INCLUDES = -I$(LIBBPF_DIR)/src -I$(LIBBPF_DIR)/include -I$(LIBBPF_DIR)/include/uapi \
  $(LIBELF_CFLAGS) $(ZLIB_CFLAGS) -I$(TOP)/wasm -I$(LIBBPF_GEN)
LIBBPF_CPPFLAGS = -std=gnu89 -D_LARGEFILE64_SOURCE -D_FILE_OFFSET_BITS=64 $(LIBBPF_INCLUDES) $(LIBBPF_REDIRECT)
LIBBPF_REDIRECT = -D_GNU_SOURCE -include $(TOP)/wasm/vk_redirect.h
LIBBPF_WARN := -Wno-unused-parameter -Wno-missing-field-initializers
LIBBPF_RENAMES := -Dbpf_core_calc_relo_insn=vk_core_calc_relo_insn \
  -Dbpf_core_patch_insn=vk_core_patch_insn \
  -Dbtf__load_vmlinux_btf=vk_load_vmlinux_btf -Dbtf__free=vk_btf_free \
  -Dbpf_core_add_cands=vk_core_add_cands -Dlibbpf_num_possible_cpus=vk_num_possible_cpus -include $(TOP)/wasm/libbpf/weak_overrides.h

LIBBPF_WASM_CFLAGS   = -O2 $(LIBBPF_CPPFLAGS) $(WASM_UAPI_CFLAGS) $(THIRDPARTY_REPRO_CFLAGS) $(LIBBPF_WARN)
LIBBPF_NATIVE_CFLAGS = -O2 -fPIC $(LIBBPF_CPPFLAGS) $(THIRDPARTY_REPRO_CFLAGS) $(LIBBPF_WARN)

WASM_LIBBPF   := $(BUILD)/wasm/lib/libbpf.a
NATIVE_LIBBPF := $(BUILD)/native/lib/libbpf.a
LIBBPF_WASM_OBJS := $(patsubst %,$(BUILD)/wasm/obj/libbpf/%.o,$(LIBBPF_NAMES) $(LIBBPF_UNITS))
LIBBPF_NATIVE_OBJS := $(patsubst %,$(BUILD)/native/obj/libbpf/%.o,$(LIBBPF_NAMES) $(LIBBPF_UNITS))
LIBBPF_DEPS = $(SRC)/.fetched $(TOP)/wasm/vk_redirect.h $(TOP)/wasm/libbpf/libbpf.mk $(TOP)/wasm/libbpf/weak_overrides.h $(TOP)/wasm/libbpf/relo_core_weak.h $(TOP)/wasm/libbpf/btf_adopt.h $(LIBELF_HEADERS) $(ZLIB_HEADERS) $(LIBBPF_FEAT_NAMES)

.PHONY: libbpf libbpf-wasm libbpf-native
libbpf: libbpf-wasm libbpf-native
libbpf-wasm: $(WASM_LIBBPF)
libbpf-native: $(NATIVE_LIBBPF)

# names of libbpf's kernel features, in enum order, from the pinned header
$(LIBBPF_FEAT_NAMES): $(SRC)/.fetched
	@mkdir -p $(@D)
	{ echo '/* GENERATED from libbpf_internal.h enum kern_feature_id by wasm/libbpf/libbpf.mk */'; \
	  echo '#define COREBPF_FEAT_NAMES \'; \
	  awk '/^enum kern_feature_id/,/__FEAT_CNT/' $(LIBBPF_DIR)/src/libbpf_internal.h \
	    | grep -oE '^[[:space:]]*FEAT_[A-Z0-9_]+' | tr -d ' \t' | sed 's/.*/  "&", \\/'; \
	  echo '  /* end */'; } > $@.tmp && mv $@.tmp $@

$(BUILD)/wasm/obj/libbpf/libbpf_unit.o $(BUILD)/native/obj/libbpf/libbpf_unit.o: LIBBPF_EXTRA = $(LIBBPF_RENAMES)
# relo_core.c's calls to its spec formatter go to vk_core_format_spec (see relo_core_fmt.c)
$(BUILD)/wasm/obj/libbpf/relo_core.o $(BUILD)/native/obj/libbpf/relo_core.o: LIBBPF_EXTRA = \
  -Dbpf_core_format_spec=vk_core_format_spec -include $(TOP)/wasm/libbpf/relo_core_weak.h
# these two #undef _GNU_SOURCE for the XSI strerror_r and make no syscalls: no redirection
LIBBPF_XSI_OBJS := $(foreach f,str_error libbpf_errno,$(BUILD)/wasm/obj/libbpf/$(f).o $(BUILD)/native/obj/libbpf/$(f).o)
$(LIBBPF_XSI_OBJS): LIBBPF_REDIRECT = -include $(TOP)/wasm/vk_nr.h

$(patsubst %,$(BUILD)/wasm/obj/libbpf/%.o,$(LIBBPF_UNITS)): $(BUILD)/wasm/obj/libbpf/%.o: $(TOP)/wasm/libbpf/%.c $(LIBBPF_DEPS) | $(WASM_UAPI_DEPS)
	@mkdir -p $(@D)
	$(EMCC) $(LIBBPF_WASM_CFLAGS) $(LIBBPF_EXTRA) -MMD -MP -c $< -o $@
$(patsubst %,$(BUILD)/native/obj/libbpf/%.o,$(LIBBPF_UNITS)): $(BUILD)/native/obj/libbpf/%.o: $(TOP)/wasm/libbpf/%.c $(LIBBPF_DEPS)
	@mkdir -p $(@D)
	$(CC_NATIVE) $(LIBBPF_NATIVE_CFLAGS) $(LIBBPF_EXTRA) -MMD -MP -c $< -o $@

$(BUILD)/wasm/obj/libbpf/%.o: $(LIBBPF_DEPS) | $(WASM_UAPI_DEPS)
	@mkdir -p $(@D)
	$(EMCC) $(LIBBPF_WASM_CFLAGS) $(LIBBPF_EXTRA) -MMD -MP -c $(LIBBPF_DIR)/src/$*.c -o $@
$(BUILD)/native/obj/libbpf/%.o: $(LIBBPF_DEPS)
	@mkdir -p $(@D)
	$(CC_NATIVE) $(LIBBPF_NATIVE_CFLAGS) $(LIBBPF_EXTRA) -MMD -MP -c $(LIBBPF_DIR)/src/$*.c -o $@

$(WASM_LIBBPF): $(LIBBPF_WASM_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && $(EMAR) $(THIRDPARTY_AR_FLAGS) $@ $^
$(NATIVE_LIBBPF): $(LIBBPF_NATIVE_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && $(AR_NATIVE) $(THIRDPARTY_AR_FLAGS) $@ $^

-include $(wildcard $(LIBBPF_WASM_OBJS:.o=.d) $(LIBBPF_NATIVE_OBJS:.o=.d))
