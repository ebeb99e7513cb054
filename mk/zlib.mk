# zlib 1.3.1 (pinned in emsdk.lock) -> $(BUILD)/{wasm,native}/lib/libz.a
#
# Built straight from the fetched sources with the shipped zconf.h; no configure step.
# The same sources and flags go through emcc (wasm32) and gcc (native oracle).
#
# Exports:
#   ZLIB_CFLAGS          include path for <zlib.h>/<zconf.h> (a clean copy of the two
#                        public headers under $(BUILD)/include/zlib, no private headers)
#   ZLIB_HEADERS         those header files (add as prerequisites of objects using them)
#   WASM_LIBZ, NATIVE_LIBZ   the archives
#   THIRDPARTY_REPRO_CFLAGS  path-independence flags shared with mk/libelf.mk
#   THIRDPARTY_AR_FLAGS      deterministic archive flags (GNU ar and llvm-ar/emar)
# Targets: zlib (both flavours), zlib-wasm, zlib-native.

# Reproducibility: __FILE__ (assert messages) and any debug info name paths relative to
# the project, not this machine.  GCC checks the *last* map first, clang the
# lexicographically greatest prefix first: list the general one ($(TOP)) first so both
# compilers pick the most specific map.
THIRDPARTY_REPRO_CFLAGS = -ffile-prefix-map=$(TOP)=. \
  -ffile-prefix-map=$(BUILD)=build -ffile-prefix-map=$(SRC)=.deps/src \
  -Wdate-time
# D: zero timestamps/uids/modes (llvm-ar, i.e. emar, does that by default; say it anyway).
THIRDPARTY_AR_FLAGS = rcsD

ZLIB_NAMES := adler32 compress crc32 deflate gzclose gzlib gzread gzwrite infback \
              inffast inflate inftrees trees uncompr zutil

ZLIB_INC_DIR := $(BUILD)/include/zlib
ZLIB_HEADERS := $(ZLIB_INC_DIR)/zlib.h $(ZLIB_INC_DIR)/zconf.h
# zlib's configure would rewrite zconf.h's "#ifdef HAVE_UNISTD_H" / "#ifdef HAVE_STDARG_H"
# to "#if 1"; we keep zconf.h as shipped and pass the two macros instead -- to zlib AND
# to every consumer: they select z_off_t = off_t (64-bit on wasm32) rather than long
# (32-bit on wasm32), so zlib and its users must agree.
ZLIB_CONFIG_DEFS := -DHAVE_UNISTD_H -DHAVE_STDARG_H
ZLIB_CFLAGS  := -I$(ZLIB_INC_DIR) $(ZLIB_CONFIG_DEFS)

WASM_LIBZ   := $(BUILD)/wasm/lib/libz.a
NATIVE_LIBZ := $(BUILD)/native/lib/libz.a

# What zlib's configure would add on Linux with either compiler: hidden internals.
ZLIB_DEFS := $(ZLIB_CONFIG_DEFS) -DHAVE_HIDDEN
ZLIB_WASM_CFLAGS   = -O2 $(ZLIB_DEFS) $(THIRDPARTY_REPRO_CFLAGS) -I$(SRC)/zlib
ZLIB_NATIVE_CFLAGS = -O2 -fPIC -Werror=implicit-function-declaration $(ZLIB_DEFS) $(THIRDPARTY_REPRO_CFLAGS) -I$(SRC)/zlib

ZLIB_WASM_OBJS   := $(patsubst %,$(BUILD)/wasm/obj/zlib/%.o,$(ZLIB_NAMES))
ZLIB_NATIVE_OBJS := $(patsubst %,$(BUILD)/native/obj/zlib/%.o,$(ZLIB_NAMES))

.PHONY: zlib zlib-wasm zlib-native
zlib: zlib-wasm zlib-native
zlib-wasm: $(WASM_LIBZ) $(ZLIB_HEADERS)
zlib-native: $(NATIVE_LIBZ) $(ZLIB_HEADERS)

# The sources' own mtimes come from the tarball; $(SRC)/.fetched is touched whenever the
# fetch script ran, so a re-fetch rebuilds everything made from them.
$(ZLIB_INC_DIR)/%.h: $(SRC)/.fetched
	@mkdir -p $(@D)
	cp $(SRC)/zlib/$*.h $@

$(BUILD)/wasm/obj/zlib/%.o: $(SRC)/.fetched
	@mkdir -p $(@D)
	$(EMCC) $(ZLIB_WASM_CFLAGS) -MMD -MP -c $(SRC)/zlib/$*.c -o $@

$(BUILD)/native/obj/zlib/%.o: $(SRC)/.fetched
	@mkdir -p $(@D)
	$(CC_NATIVE) $(ZLIB_NATIVE_CFLAGS) -MMD -MP -c $(SRC)/zlib/$*.c -o $@

$(WASM_LIBZ): $(ZLIB_WASM_OBJS)
	@mkdir -p $(@D)
	@rm -f $@
	@echo "EMAR $@ ($(words $^) objects)"
	@$(EMAR) $(THIRDPARTY_AR_FLAGS) $@ $^

$(NATIVE_LIBZ): $(ZLIB_NATIVE_OBJS)
	@mkdir -p $(@D)
	@rm -f $@
	@echo "AR $@ ($(words $^) objects)"
	@$(AR_NATIVE) $(THIRDPARTY_AR_FLAGS) $@ $^

# Dependency files: never remade (the empty recipe also keeps make's built-in
# "%: %.o" rule from trying to build foo.d from foo.d.o).
ZLIB_DEPFILES := $(ZLIB_WASM_OBJS:.o=.d) $(ZLIB_NATIVE_OBJS:.o=.d)
$(ZLIB_DEPFILES): ;
-include $(ZLIB_DEPFILES)
