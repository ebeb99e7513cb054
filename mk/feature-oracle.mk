# The feature-profile oracle: libbpf 1.5 itself (the pinned sources) deciding which kernel
# features the running kernel has, for test/kernel-features.test.ts to compare with the
# TypeScript probes (src/host/features/). Part of `make native`.
#
#   build/native/feature-oracle      prints {"prog_name": true, ...} (libbpf's feat_supported())
#
# Unlike build/native/lib/libbpf.a, this libbpf is compiled WITHOUT wasm/vk_redirect.h: its
# bpf() calls, files and uname reach the real kernel. Linked statically (libbpf, libelf,
# zlib and glibc), so the lab's guests run it with nothing installed.
FEATORACLE_OUT := $(BUILD)/native/feature-oracle
FEATORACLE_OBJ := $(BUILD)/native/obj/libbpf-real
# libbpf.c, btf.c and features.c as they are (the wasm build compiles them inside units)
FEATORACLE_NAMES := $(LIBBPF_NAMES) libbpf btf features
FEATORACLE_LIBBPF_OBJS := $(patsubst %,$(FEATORACLE_OBJ)/%.o,$(FEATORACLE_NAMES))
FEATORACLE_CFLAGS = -O2 -std=gnu89 -D_LARGEFILE64_SOURCE -D_FILE_OFFSET_BITS=64 -D_GNU_SOURCE \
  -I$(LIBBPF_DIR)/src -I$(LIBBPF_DIR)/include -I$(LIBBPF_DIR)/include/uapi $(LIBELF_CFLAGS) $(ZLIB_CFLAGS) \
  $(THIRDPARTY_REPRO_CFLAGS) $(LIBBPF_WARN)

.PHONY: feature-oracle
native: $(FEATORACLE_OUT)
feature-oracle: $(FEATORACLE_OUT)

$(FEATORACLE_OBJ)/%.o: $(SRC)/.fetched $(LIBELF_HEADERS) $(ZLIB_HEADERS) $(TOP)/mk/feature-oracle.mk
	@mkdir -p $(@D)
	$(CC_NATIVE) $(FEATORACLE_CFLAGS) -MMD -MP -c $(LIBBPF_DIR)/src/$*.c -o $@
$(FEATORACLE_OBJ)/feature_oracle.o: $(TOP)/test/c/feature_oracle.c $(LIBBPF_FEAT_NAMES) $(SRC)/.fetched $(TOP)/mk/feature-oracle.mk
	@mkdir -p $(@D)
	$(CC_NATIVE) -O2 -std=gnu11 -D_GNU_SOURCE -Wall -I$(LIBBPF_GEN) -I$(LIBBPF_DIR)/src -I$(LIBBPF_DIR)/include \
	  -I$(LIBBPF_DIR)/include/uapi $(LIBELF_CFLAGS) -c $< -o $@
$(FEATORACLE_OUT): $(FEATORACLE_OBJ)/feature_oracle.o $(FEATORACLE_LIBBPF_OBJS) $(NATIVE_LIBS_ELF)
	$(CC_NATIVE) -static -O2 -Wl,--wrap=syscall $^ -o $@

-include $(wildcard $(FEATORACLE_LIBBPF_OBJS:.o=.d))

# The same oracle for the arm64 lab guest, cross-built with Debian's gcc-aarch64-linux-gnu
# (libelf and zlib too, under build/arm64/): build/arm64/native/feature-oracle.
.PHONY: feature-oracle-arm64
feature-oracle-arm64:
	$(MAKE) BUILD=$(BUILD)/arm64 CC_NATIVE=aarch64-linux-gnu-gcc AR_NATIVE=aarch64-linux-gnu-ar $(BUILD)/arm64/native/feature-oracle
