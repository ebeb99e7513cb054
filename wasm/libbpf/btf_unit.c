/* libbpf's btf.c compiled as part of this translation unit (it is not compiled on its own),
 * so that btf_new() can take over the buffer a target's BTF was copied into instead of
 * copying it again: btf__new() always mallocs raw_data and copies the input there, and a
 * kernel's BTF is 3-7 MB, which wasm memory would then hold twice (the worker's copy in
 * and libbpf's), and wasm memory never shrinks (bench/README.md, Start-up and memory).
 *
 * cb_btf_adopt() arms one buffer; btf.c's next malloc of exactly that size returns it, and
 * its memcpy of the buffer onto itself is skipped. Only cb_target_register_owned() arms,
 * around its btf__new(): there btf_new()'s first malloc is raw_data (the struct comes from
 * calloc). Every other malloc and memcpy of btf.c goes through to the C library. */
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "libbpf/btf_adopt.h"

static void *adopt_buf;
static size_t adopt_size;

void cb_btf_adopt(void *buf, size_t size)
{
	adopt_buf = buf;
	adopt_size = size;
}

bool cb_btf_adopted(void)
{
	bool taken = !adopt_buf;

	adopt_buf = NULL;
	return taken;
}

static void *adopt_malloc(size_t size)
{
	void *p = adopt_buf;

	if (p && size == adopt_size) {
		adopt_buf = NULL;
		return p;
	}
	return malloc(size);
}

/* the adopted buffer is both ends of btf_new()'s copy: C leaves memcpy onto itself undefined */
static void *adopt_memcpy(void *dst, const void *src, size_t n)
{
	return dst == src ? dst : memcpy(dst, src, n);
}

#define malloc(size) adopt_malloc(size)
#define memcpy(dst, src, n) adopt_memcpy(dst, src, n)
#include "btf.c"
