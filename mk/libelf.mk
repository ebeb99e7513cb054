# elfutils 0.192 libelf (pinned in emsdk.lock) -> $(BUILD)/{wasm,native}/lib/libelf.a
#
# No configure: elfutils' configure cannot run under emscripten ("__thread support
# required").  We compile exactly libelf_a_SOURCES of libelf/Makefile.am, plus
# lib/eu-search.c (which the shared libelf gets from libeu.a), with our hand-written
# wasm/libelf/config.h.  The native oracle build uses the same config and shims, so
# both compile the same code paths (see the comments in config.h).
#
# Exports:
#   LIBELF_CFLAGS        include path for <libelf.h>, <gelf.h>, <nlist.h> and elfutils'
#                        <elf.h> (a clean copy under $(BUILD)/include/libelf: consumers
#                        see the elf.h libelf was built with, identical in both builds)
#   LIBELF_HEADERS       those header files (add as prerequisites of objects using them)
#   WASM_LIBELF, NATIVE_LIBELF           the archives
#   WASM_LIBS_ELF, NATIVE_LIBS_ELF       libelf.a + libz.a, in link order
#   WASM_UAPI_CFLAGS     wasm32 Linux UAPI include path (see the section at the end)
#   WASM_UAPI_DEPS       prerequisite for anything compiled with WASM_UAPI_CFLAGS
# Targets: libelf (both flavours), libelf-wasm, libelf-native,
#          libelf-check (differential smoke test: wasm vs native section listing).

LIBELF_NAMES := \
  elf32_checksum elf32_fsize elf32_getchdr elf32_getehdr elf32_getphdr elf32_getshdr \
  elf32_newehdr elf32_newphdr elf32_offscn elf32_updatefile elf32_updatenull \
  elf32_xlatetof elf32_xlatetom elf64_checksum elf64_fsize elf64_getchdr \
  elf64_getehdr elf64_getphdr elf64_getshdr elf64_newehdr elf64_newphdr elf64_offscn \
  elf64_updatefile elf64_updatenull elf64_xlatetof elf64_xlatetom elf_begin elf_clone \
  elf_cntl elf_compress elf_compress_gnu elf_end elf_error elf_fill elf_flagdata \
  elf_flagehdr elf_flagelf elf_flagphdr elf_flagscn elf_flagshdr elf_getarhdr \
  elf_getaroff elf_getarsym elf_getbase elf_getdata elf_getdata_rawchunk elf_getident \
  elf_getphdrnum elf_getscn elf_getshdrnum elf_getshdrstrndx elf_gnu_hash elf_hash \
  elf_kind elf_memory elf_ndxscn elf_newdata elf_newscn elf_next elf_nextscn elf_rand \
  elf_rawdata elf_rawfile elf_readall elf_scnshndx elf_strptr elf_update elf_version \
  gelf_checksum gelf_fsize gelf_getauxv gelf_getchdr gelf_getclass gelf_getdyn \
  gelf_getehdr gelf_getlib gelf_getmove gelf_getnote gelf_getphdr gelf_getrel \
  gelf_getrela gelf_getshdr gelf_getsym gelf_getsyminfo gelf_getsymshndx \
  gelf_getverdaux gelf_getverdef gelf_getvernaux gelf_getverneed gelf_getversym \
  gelf_newehdr gelf_newphdr gelf_offscn gelf_update_auxv gelf_update_dyn \
  gelf_update_ehdr gelf_update_lib gelf_update_move gelf_update_phdr gelf_update_rel \
  gelf_update_rela gelf_update_shdr gelf_update_sym gelf_update_syminfo \
  gelf_update_symshndx gelf_update_verdaux gelf_update_verdef gelf_update_vernaux \
  gelf_update_verneed gelf_update_versym gelf_xlate gelf_xlatetof gelf_xlatetom \
  libelf_crc32 libelf_next_prime nlist
# from elfutils' lib/ (libeu): the tsearch wrappers libelf calls
LIBELF_LIBEU_NAMES := eu-search

LIBELF_INC_DIR := $(BUILD)/include/libelf
LIBELF_HEADERS := $(patsubst %,$(LIBELF_INC_DIR)/%.h,libelf gelf nlist elf)
LIBELF_CFLAGS  := -I$(LIBELF_INC_DIR)

WASM_LIBELF   := $(BUILD)/wasm/lib/libelf.a
NATIVE_LIBELF := $(BUILD)/native/lib/libelf.a
WASM_LIBS_ELF   := $(WASM_LIBELF) $(WASM_LIBZ)
NATIVE_LIBS_ELF := $(NATIVE_LIBELF) $(NATIVE_LIBZ)

# elfutils' own DEFS/AM_CPPFLAGS, with our config dir (config.h, error.h shim) first.
LIBELF_CPPFLAGS = -std=gnu99 -D_GNU_SOURCE -DHAVE_CONFIG_H \
  -I$(TOP)/wasm/libelf -I$(SRC)/elfutils/libelf -I$(SRC)/elfutils/lib $(ZLIB_CFLAGS)
LIBELF_WASM_CFLAGS   = -O2 $(LIBELF_CPPFLAGS) $(THIRDPARTY_REPRO_CFLAGS)
LIBELF_NATIVE_CFLAGS = -O2 -fPIC -Werror=implicit-function-declaration $(LIBELF_CPPFLAGS) $(THIRDPARTY_REPRO_CFLAGS)
LIBELF_CONFIG := $(TOP)/wasm/libelf/config.h $(TOP)/wasm/libelf/error.h

LIBELF_WASM_OBJS := $(patsubst %,$(BUILD)/wasm/obj/libelf/%.o,$(LIBELF_NAMES)) \
                    $(patsubst %,$(BUILD)/wasm/obj/libelf/lib/%.o,$(LIBELF_LIBEU_NAMES))
LIBELF_NATIVE_OBJS := $(patsubst %,$(BUILD)/native/obj/libelf/%.o,$(LIBELF_NAMES)) \
                      $(patsubst %,$(BUILD)/native/obj/libelf/lib/%.o,$(LIBELF_LIBEU_NAMES))

.PHONY: libelf libelf-wasm libelf-native libelf-check
libelf: libelf-wasm libelf-native
libelf-wasm: $(WASM_LIBS_ELF) $(LIBELF_HEADERS) $(ZLIB_HEADERS)
libelf-native: $(NATIVE_LIBS_ELF) $(LIBELF_HEADERS) $(ZLIB_HEADERS)

$(LIBELF_INC_DIR)/%.h: $(SRC)/.fetched
	@mkdir -p $(@D)
	cp $(SRC)/elfutils/libelf/$*.h $@

# Every object needs zlib.h (via ZLIB_CFLAGS) only for elf_compress*, but the header copy
# must exist before any compile that names its directory: order-only on all.
$(BUILD)/wasm/obj/libelf/%.o: $(SRC)/.fetched $(LIBELF_CONFIG) | $(ZLIB_HEADERS)
	@mkdir -p $(@D)
	$(EMCC) $(LIBELF_WASM_CFLAGS) -MMD -MP -c $(SRC)/elfutils/libelf/$*.c -o $@
$(BUILD)/wasm/obj/libelf/lib/%.o: $(SRC)/.fetched $(LIBELF_CONFIG)
	@mkdir -p $(@D)
	$(EMCC) $(LIBELF_WASM_CFLAGS) -MMD -MP -c $(SRC)/elfutils/lib/$*.c -o $@

$(BUILD)/native/obj/libelf/%.o: $(SRC)/.fetched $(LIBELF_CONFIG) | $(ZLIB_HEADERS)
	@mkdir -p $(@D)
	$(CC_NATIVE) $(LIBELF_NATIVE_CFLAGS) -MMD -MP -c $(SRC)/elfutils/libelf/$*.c -o $@
$(BUILD)/native/obj/libelf/lib/%.o: $(SRC)/.fetched $(LIBELF_CONFIG)
	@mkdir -p $(@D)
	$(CC_NATIVE) $(LIBELF_NATIVE_CFLAGS) -MMD -MP -c $(SRC)/elfutils/lib/$*.c -o $@

$(WASM_LIBELF): $(LIBELF_WASM_OBJS)
	@mkdir -p $(@D)
	@rm -f $@
	@echo "EMAR $@ ($(words $^) objects)"
	@$(EMAR) $(THIRDPARTY_AR_FLAGS) $@ $^

$(NATIVE_LIBELF): $(LIBELF_NATIVE_OBJS)
	@mkdir -p $(@D)
	@rm -f $@
	@echo "AR $@ ($(words $^) objects)"
	@$(AR_NATIVE) $(THIRDPARTY_AR_FLAGS) $@ $^

LIBELF_DEPFILES := $(LIBELF_WASM_OBJS:.o=.d) $(LIBELF_NATIVE_OBJS:.o=.d)
$(LIBELF_DEPFILES): ;
-include $(LIBELF_DEPFILES)

# ---------------------------------------------------------------------------------------
# wasm32 Linux UAPI headers (for libbpf; libelf and zlib need none).
#
# Emscripten's sysroot (musl) has no <linux/*> or <asm/*>.  Search order for a wasm compile:
#   -I$(SRC)/libbpf/include -I$(SRC)/libbpf/include/uapi   (the libbpf rules add these first)
#   $(WASM_UAPI_CFLAGS):
#     -I$(TOP)/wasm/include      our <asm/*.h> for wasm32: asm-generic redirects, <asm/errno.h>
#                                = the libc's errno set, empty-ish <asm/unistd.h>, placeholder
#                                <asm/ptrace.h> (see wasm/include/README.md)
#     <emscripten sysroot>       (implicit, as system headers)
#     -idirafter $(WASM_UAPI_DIR)  only linux/ and asm-generic/ of linux-libc-dev, via two
#                                symlinks -- never the rest of /usr/include (glibc).
LINUX_UAPI_INCLUDE ?= /usr/include
WASM_UAPI_DIR    := $(BUILD)/wasm/uapi
WASM_UAPI_DEPS   := $(WASM_UAPI_DIR)/.stamp
WASM_UAPI_CFLAGS := -I$(TOP)/wasm/include -idirafter $(WASM_UAPI_DIR)

$(WASM_UAPI_DEPS):
	@test -f $(LINUX_UAPI_INCLUDE)/linux/bpf_perf_event.h -a -f $(LINUX_UAPI_INCLUDE)/asm-generic/types.h || \
	  { echo "error: Linux UAPI headers not found under $(LINUX_UAPI_INCLUDE) (apt-get install linux-libc-dev)" >&2; exit 1; }
	@mkdir -p $(@D)
	ln -sfn $(LINUX_UAPI_INCLUDE)/linux $(@D)/linux
	ln -sfn $(LINUX_UAPI_INCLUDE)/asm-generic $(@D)/asm-generic
	@touch $@

# ---------------------------------------------------------------------------------------
# libelf-check: differential smoke test.  test/c/libelf_sections.c opens little- and
# big-endian BPF objects (with zlib-compressed debug sections) via elf_memory() and lists
# sections, symbols and relocations; the wasm run (Node, bytes passed in through the
# heap) must print exactly what the native run prints.
LIBELF_TEST_DIR   := $(BUILD)/test/libelf
LIBELF_TEST_CLANG ?= clang-16
LIBELF_TEST_OBJS  := $(LIBELF_TEST_DIR)/probe-bpfel.o $(LIBELF_TEST_DIR)/probe-bpfeb.o
LIBELF_TEST_CFLAGS = -O2 -Wall $(LIBELF_CFLAGS) $(ZLIB_CFLAGS) $(THIRDPARTY_REPRO_CFLAGS)

$(LIBELF_TEST_DIR)/probe-%.o: test/c/libelf_probe.bpf.c
	@mkdir -p $(@D)
	$(LIBELF_TEST_CLANG) -target $* -O2 -g -gz=zlib -ffile-prefix-map=$(TOP)=. -c $< -o $@

$(LIBELF_TEST_DIR)/libelf_sections.cjs: test/c/libelf_sections.c $(WASM_LIBS_ELF) | $(LIBELF_HEADERS) $(ZLIB_HEADERS)
	@mkdir -p $(@D)
	$(EMCC) $(LIBELF_TEST_CFLAGS) $< $(WASM_LIBS_ELF) -sMODULARIZE -sENVIRONMENT=node \
	  -sALLOW_MEMORY_GROWTH -sEXPORTED_FUNCTIONS=_list_sections,_malloc,_free -o $@

$(LIBELF_TEST_DIR)/libelf_sections: test/c/libelf_sections.c $(NATIVE_LIBS_ELF) | $(LIBELF_HEADERS) $(ZLIB_HEADERS)
	@mkdir -p $(@D)
	$(CC_NATIVE) $(LIBELF_TEST_CFLAGS) $< $(NATIVE_LIBS_ELF) -o $@

libelf-check: $(LIBELF_TEST_DIR)/libelf_sections.cjs $(LIBELF_TEST_DIR)/libelf_sections $(LIBELF_TEST_OBJS)
	@set -e; for o in $(LIBELF_TEST_OBJS); do \
	  node test/c/libelf_sections.mjs $(LIBELF_TEST_DIR)/libelf_sections.cjs \
	    $(LIBELF_TEST_DIR)/libelf_sections.wasm $$o > $$o.wasm.txt; \
	  $(LIBELF_TEST_DIR)/libelf_sections $$o > $$o.native.txt; \
	  grep -q 'compressed type 1' $$o.native.txt || { echo "libelf-check: no compressed section seen in $$o" >&2; exit 1; }; \
	  diff -u $$o.native.txt $$o.wasm.txt >&2 || { echo "libelf-check: wasm and native differ for $$o" >&2; exit 1; }; \
	  echo "libelf-check: $$(basename $$o): $$(grep -c '^\[' $$o.native.txt) sections, wasm == native"; \
	done
