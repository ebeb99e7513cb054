# The stock-libbpf oracle: Debian's libbpf-dev (1:1.1.2, the shared library, an
# independent build of an older libbpf) running against corebpf's virtual kernel.
# test/stock-libbpf.test.ts compares it with corebpf-native; docs/stock-libbpf.md.
#
#   make stock-oracle   build/native/stock-oracle
#
# Built with the system headers (/usr/include/bpf, linux-libc-dev) and -lbpf, never the
# pinned libbpf 1.5 sources. The virtual kernel (VK_NAMES of mk/corebpf.mk) is compiled in
# with its own calls to close, fcntl and mmap renamed to stock_real_*: the executable
# defines close/fcntl/mmap itself (to catch libbpf.so's calls), and the virtual kernel must
# reach libc's, not come back to those.
STOCK_OUT := $(BUILD)/native/stock-oracle
STOCK_OBJ := $(BUILD)/native/obj/stock
STOCK_CFLAGS := -O2 -g -std=gnu11 -D_GNU_SOURCE -Wall -Wno-unused-parameter -I$(TOP)/wasm
STOCK_VK_RENAMES := -Dclose=stock_real_close -Dfcntl=stock_real_fcntl -Dmmap=stock_real_mmap

.PHONY: stock-oracle
stock-oracle: $(STOCK_OUT)

STOCK_VK_OBJS := $(patsubst %,$(STOCK_OBJ)/%.o,$(VK_NAMES))
$(STOCK_VK_OBJS): $(STOCK_OBJ)/%.o: $(TOP)/wasm/%.c $(TOP)/wasm/vk.h $(TOP)/wasm/vk_internal.h $(TOP)/wasm/vk_nr.h $(TOP)/mk/stock.mk
	@mkdir -p $(@D)
	@test -f /usr/include/bpf/libbpf.h || { echo "stock-oracle: needs Debian's libbpf-dev (apt-get install libbpf-dev)" >&2; exit 1; }
	$(CC_NATIVE) $(STOCK_CFLAGS) $(STOCK_VK_RENAMES) -c $< -o $@
$(STOCK_OBJ)/stock_oracle.o: $(TOP)/test/c/stock_oracle.c $(TOP)/wasm/vk.h $(TOP)/mk/stock.mk
	@mkdir -p $(@D)
	@test -f /usr/include/bpf/libbpf.h || { echo "stock-oracle: needs Debian's libbpf-dev (apt-get install libbpf-dev)" >&2; exit 1; }
	$(CC_NATIVE) $(STOCK_CFLAGS) -c $< -o $@
# the virtual kernel's table of freplace target programs (empty here: nothing adds one)
$(STOCK_OBJ)/target_prog.o: $(TOP)/wasm/target_prog.c $(TOP)/wasm/vk.h $(TOP)/mk/stock.mk
	@mkdir -p $(@D)
	$(CC_NATIVE) $(STOCK_CFLAGS) -c $< -o $@
# -rdynamic: the interposed libc functions must be in the dynamic symbol table
$(STOCK_OUT): $(STOCK_OBJ)/stock_oracle.o $(STOCK_VK_OBJS) $(STOCK_OBJ)/target_prog.o
	$(CC_NATIVE) -rdynamic $^ -lbpf -lz -o $@
