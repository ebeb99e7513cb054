/* Hand libbpf's btf__new() a malloc'ed buffer to keep as the BTF's raw data instead of
 * copying it (wasm/libbpf/btf_unit.c). */
#ifndef COREBPF_BTF_ADOPT_H
#define COREBPF_BTF_ADOPT_H
#include <stdbool.h>
#include <stddef.h>

/* the next btf__new() of `size` bytes keeps `buf` (from malloc) as its raw data */
void cb_btf_adopt(void *buf, size_t size);
/* disarm; true when btf__new() took the buffer (it is then libbpf's: freed by btf__free(),
 * also when btf__new() failed), false when it is still the caller's */
bool cb_btf_adopted(void);
#endif
