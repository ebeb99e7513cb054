/* `corebpf btf dump --format c`: libbpf's own btf_dump over every type, in id order, inside
 * the guards bpftool's `btf dump ... format c` writes around it (a vmlinux.h). The BTF comes
 * as raw bytes (the host unpacks .xz and takes .BTF out of an ELF); split BTF (a module's)
 * comes with its base, whose types are written too. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "btf.h"

#include "cb_export.h"

struct sbuf {
	char *p;
	size_t len, cap;
	int oom;
};

static void sb_vprintf(void *ctx, const char *fmt, va_list args)
{
	struct sbuf *b = ctx;
	va_list again;
	int n;

	if (b->oom)
		return;
	va_copy(again, args);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, args);
	if (n >= 0 && (size_t)n >= b->cap - b->len) {
		size_t cap = b->cap * 2 + (size_t)n + 1;
		char *p = realloc(b->p, cap);

		if (!p) {
			b->oom = 1;
			va_end(again);
			return;
		}
		b->p = p;
		b->cap = cap;
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, again);
	}
	va_end(again);
	if (n > 0)
		b->len += (size_t)n;
}

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	sb_vprintf(b, fmt, args);
	va_end(args);
}

/* "O" + the header, or "E" + why the BTF could not be read (errno name, libbpf's reason) */
CB_EXPORT char *cb_btf_dump_c(const void *data, size_t len, const void *base_data, size_t base_len)
{
	struct sbuf b = { .cap = 1 << 20 };
	struct btf *base = NULL, *btf;
	struct btf_dump *d = NULL;
	int err = 0;
	__u32 i, cnt;

	b.p = malloc(b.cap);
	if (!b.p)
		return NULL;
	b.p[0] = 0;
	if (base_data) {
		base = btf__new(base_data, base_len);
		if (!base) {
			err = errno;
			sb_printf(&b, "Ethe base BTF is not valid BTF: %s", strerror(err));
			goto out;
		}
	}
	btf = base ? btf__new_split(data, len, base) : btf__new(data, len);
	if (!btf) {
		err = errno;
		sb_printf(&b, "Enot valid BTF%s: %s", base ? " on that base" : "", strerror(err));
		goto out;
	}
	d = btf_dump__new(btf, sb_vprintf, &b, NULL);
	if (!d) {
		err = errno;
		sb_printf(&b, "Ebtf_dump: %s", strerror(err));
		btf__free(btf);
		goto out;
	}
	sb_printf(&b, "O#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n\n");
	sb_printf(&b, "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n");
	sb_printf(&b, "#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n");
	sb_printf(&b, "#endif\n\n");
	cnt = btf__type_cnt(btf);
	/* split BTF: the base's types too, as bpftool writes it (one header that compiles) */
	for (i = 1; i < cnt && !err; i++) {
		err = btf_dump__dump_type(d, i);
		if (err) {
			b.len = 0;
			b.p[0] = 0;
			sb_printf(&b, "Etype [%u] cannot be written as C: %s", i, strerror(-err));
		}
	}
	if (!err) {
		sb_printf(&b, "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n");
		sb_printf(&b, "#endif /* __VMLINUX_H__ */\n");
	}
	btf_dump__free(d);
	btf__free(btf);
out:
	btf__free(base);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}
