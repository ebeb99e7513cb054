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
#include "cb_result.h"

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

/* The failure's result: the errno's name as the status, the reason as the error part. */
static char *dump_failed(int err, const char *fmt, ...)
{
	char why[512];
	const void *part[CB_RESULT_BTF_DUMP_NR_PARTS];
	uint32_t len[CB_RESULT_BTF_DUMP_NR_PARTS];
	va_list args;

	va_start(args, fmt);
	vsnprintf(why, sizeof(why), fmt, args);
	va_end(args);
	part[CB_RESULT_BTF_DUMP_ERROR] = why;
	len[CB_RESULT_BTF_DUMP_ERROR] = (uint32_t)strlen(why);
	part[CB_RESULT_BTF_DUMP_HEADER] = "";
	len[CB_RESULT_BTF_DUMP_HEADER] = 0;
	return cb_result_bytes(CB_RESULT_KIND_BTF_DUMP, cb_errno_name(err), part, len);
}

/* The result header (kind btf-dump, wasm/cb_result.h), then the C header, or why the BTF
 * could not be read or written (the error part, the errno's name as the status). NULL only
 * when out of memory. */
CB_EXPORT char *cb_btf_dump_c(const void *data, size_t len, const void *base_data, size_t base_len)
{
	struct sbuf b = { .cap = 1 << 20 };
	struct btf *base = NULL, *btf = NULL;
	struct btf_dump *d = NULL;
	char *r = NULL;
	uint32_t off[CB_RESULT_BTF_DUMP_NR_PARTS], plen[CB_RESULT_BTF_DUMP_NR_PARTS];
	int err;
	__u32 i, cnt;

	if (base_data) {
		base = btf__new(base_data, base_len);
		if (!base) {
			err = errno;
			return dump_failed(err, "the base BTF is not valid BTF: %s", strerror(err));
		}
	}
	btf = base ? btf__new_split(data, len, base) : btf__new(data, len);
	if (!btf) {
		err = errno;
		r = dump_failed(err, "not valid BTF%s: %s", base ? " on that base" : "", strerror(err));
		goto out;
	}
	/* the text is written after room for the result header: no copy of megabytes at the end */
	b.p = malloc(b.cap);
	if (!b.p)
		goto out;
	memset(b.p, ' ', CB_RESULT_BTF_DUMP_HEADER_LEN);
	b.len = CB_RESULT_BTF_DUMP_HEADER_LEN;
	b.p[b.len] = 0;
	d = btf_dump__new(btf, sb_vprintf, &b, NULL);
	if (!d) {
		err = errno;
		r = dump_failed(err, "btf_dump: %s", strerror(err));
		goto out;
	}
	sb_printf(&b, "#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n\n");
	sb_printf(&b, "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n");
	sb_printf(&b, "#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n");
	sb_printf(&b, "#endif\n\n");
	cnt = btf__type_cnt(btf);
	/* split BTF: the base's types too, as bpftool writes it (one header that compiles) */
	for (i = 1; i < cnt; i++) {
		err = btf_dump__dump_type(d, i);
		if (err) {
			r = dump_failed(-err, "type [%u] cannot be written as C: %s", i, strerror(-err));
			goto out;
		}
	}
	sb_printf(&b, "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n");
	sb_printf(&b, "#endif /* __VMLINUX_H__ */\n");
	if (b.oom || b.len >= UINT32_MAX)
		goto out;
	off[CB_RESULT_BTF_DUMP_ERROR] = CB_RESULT_BTF_DUMP_HEADER_LEN;
	plen[CB_RESULT_BTF_DUMP_ERROR] = 0;
	off[CB_RESULT_BTF_DUMP_HEADER] = CB_RESULT_BTF_DUMP_HEADER_LEN;
	plen[CB_RESULT_BTF_DUMP_HEADER] = (uint32_t)(b.len - CB_RESULT_BTF_DUMP_HEADER_LEN);
	cb_result_header(b.p, CB_RESULT_KIND_BTF_DUMP, CB_RESULT_STATUS_OK, (uint32_t)b.len, off, plen);
	r = b.p;
	b.p = NULL;
out:
	free(b.p);
	btf_dump__free(d);
	btf__free(btf);
	btf__free(base);
	return r;
}
