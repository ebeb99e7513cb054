/* A CO-RE relocation in words, from libbpf's own structures: the names of kinds, types and
 * access paths, the warning libbpf printed about it, and the bitfield shift of a big-endian
 * spec. Apart from core_report.c, which keeps the records: this is formatting and reading
 * libbpf's specs, with no state of its own. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libbpf_internal.h"
#include "relo_core.h"

#include "core_report_fmt.h"
#include "log.h"

const char *core_kind_name(__u32 kind)
{
	switch (kind) {
#define K(x, s) case BPF_CORE_##x: return s
	K(FIELD_BYTE_OFFSET, "field_byte_offset");
	K(FIELD_BYTE_SIZE, "field_byte_size");
	K(FIELD_EXISTS, "field_exists");
	K(FIELD_SIGNED, "field_signed");
	K(FIELD_LSHIFT_U64, "field_lshift_u64");
	K(FIELD_RSHIFT_U64, "field_rshift_u64");
	K(TYPE_ID_LOCAL, "type_id_local");
	K(TYPE_ID_TARGET, "type_id_target");
	K(TYPE_EXISTS, "type_exists");
	K(TYPE_SIZE, "type_size");
	K(ENUMVAL_EXISTS, "enumval_exists");
	K(ENUMVAL_VALUE, "enumval_value");
	K(TYPE_MATCHES, "type_matches");
#undef K
	default:
		return "unknown";
	}
}

bool core_kind_is_field(__u32 kind)
{
	return kind <= BPF_CORE_FIELD_RSHIFT_U64;
}

bool core_kind_is_enumval(__u32 kind)
{
	return kind == BPF_CORE_ENUMVAL_EXISTS || kind == BPF_CORE_ENUMVAL_VALUE;
}

char *core_fmt(const char *f, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, f);
	if (vasprintf(&s, f, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

char *core_type_str(const struct btf *btf, __u32 id)
{
	const struct btf_type *t = btf__type_by_id(btf, id);
	const char *name;

	if (!t)
		return strdup("<invalid>");
	name = btf__name_by_offset(btf, t->name_off);
	return core_fmt("%s %s", btf_kind_str(t), name && *name ? name : "<anon>");
}

/* C-like access path from libbpf's parsed local spec: task_struct.real_parent, s[2].x */
char *core_access_str(const struct btf *btf, const struct bpf_core_spec *spec, __u32 kind)
{
	const struct btf_type *t = btf__type_by_id(btf, spec->root_type_id);
	const char *root = t ? btf__name_by_offset(btf, t->name_off) : NULL;
	char buf[1024];
	size_t n = 0;
	int i;

	buf[0] = 0;
	n += snprintf(buf + n, sizeof(buf) - n, "%s", root && *root ? root : "<anon>");
	if (core_kind_is_enumval(kind) && spec->len > 0) {
		snprintf(buf + n, sizeof(buf) - n, "::%s", spec->spec[0].name ? spec->spec[0].name : "?");
		return strdup(buf);
	}
	if (!core_kind_is_field(kind))
		return strdup(buf);
	for (i = 0; i < spec->len && n < sizeof(buf); i++) {
		const struct bpf_core_accessor *a = &spec->spec[i];

		if (i == 0) {
			if (a->idx)
				n += snprintf(buf + n, sizeof(buf) - n, "[%u]", a->idx);
		} else if (a->name) {
			n += snprintf(buf + n, sizeof(buf) - n, ".%s", a->name);
		} else {
			n += snprintf(buf + n, sizeof(buf) - n, "[%u]", a->idx);
		}
	}
	return strdup(buf);
}

/* the last "libbpf: " warning printed since log offset `from`, without prefix/newline */
char *core_last_warning(size_t from)
{
	const char *end, *p, *line = NULL;
	size_t len;

	if (!cb_log || from >= cb_log_len)
		return NULL;
	end = cb_log + cb_log_len;
	for (p = cb_log + from; p < end;) {
		const char *nl = memchr(p, '\n', end - p);
		const char *le = nl ? nl : end;

		/* debug lines say "matching"/"non-matching"; warnings say what failed */
		if (memmem(p, le - p, "failed", 6) || memmem(p, le - p, "ambiguity", 9) ||
		    memmem(p, le - p, "doesn't support", 15))
			line = p;
		p = nl ? nl + 1 : end;
	}
	if (!line)
		return NULL;
	if (strncmp(line, "libbpf: ", 8) == 0)
		line += 8;
	p = memchr(line, '\n', end - line);
	len = p ? (size_t)(p - line) : (size_t)(end - line);
	return strndup(line, len);
}

/*
 * libbpf computes BPF_CORE_FIELD_LSHIFT_U64 for the byte order it was COMPILED for
 * (`#if __BYTE_ORDER__` in relo_core.c): little-endian in this build (wasm, and the native
 * oracle on x86), whatever the object and the target are. On a big-endian kernel
 * bpf_core_read.h reads the bitfield's bytes into the low-order end of a u64, and the
 * shift that isolates it is libbpf's big-endian formula. So for a big-endian spec the
 * value is recomputed here with libbpf's own steps (bpf_core_calc_field_relo), using the
 * byte order of the spec's BTF. Found by test/bpftool-offsets.test.ts (s390x fixtures).
 */
bool core_be_lshift_u64(const struct bpf_core_spec *spec, __u64 *val)
{
	const struct bpf_core_accessor *acc;
	const struct btf_type *t, *mt;
	__u32 bit_off, bit_sz, byte_off, byte_sz, field_type_id;

	if (!spec || !spec->btf || spec->len <= 0 || btf__endianness(spec->btf) != BTF_BIG_ENDIAN)
		return false;
	acc = &spec->spec[spec->len - 1];
	if (!acc->name)
		return false; /* array element: libbpf refuses shifts there */
	t = btf_type_by_id(spec->btf, acc->type_id);
	mt = skip_mods_and_typedefs(spec->btf, btf_members(t)[acc->idx].type, &field_type_id);
	bit_off = spec->bit_offset;
	bit_sz = btf_member_bitfield_size(t, acc->idx);
	if (bit_sz) {
		byte_sz = mt->size;
		byte_off = bit_off / 8 / byte_sz * byte_sz;
		while (bit_off + bit_sz - byte_off * 8 > byte_sz * 8) {
			if (byte_sz >= 8)
				return false;
			byte_sz *= 2;
			byte_off = bit_off / 8 / byte_sz * byte_sz;
		}
	} else {
		__s64 sz = btf__resolve_size(spec->btf, field_type_id);

		if (sz < 0)
			return false;
		byte_sz = sz;
		byte_off = bit_off / 8;
	}
	*val = (8 - byte_sz) * 8 + (bit_off - byte_off * 8);
	return true;
}
