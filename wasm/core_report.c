/* The CO-RE relocation report.
 *
 * libbpf.c's calls to bpf_core_calc_relo_insn() and bpf_core_patch_insn() are redirected
 * here at compile time (-D in wasm/libbpf/libbpf.mk); each wrapper calls libbpf's own
 * function and records its inputs and result, so the report is libbpf's decision, not a
 * re-computation. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libbpf_internal.h"
#include "relo_core.h"

#include "core_report.h"
#include "json.h"

struct relo_rec {
	char *prog;
	int relo_idx;
	int insn; /* program-relative instruction, -1 until patched */
	__u32 kind;
	__u32 local_type_id;
	char *type; /* e.g. "struct task_struct" */
	char *access; /* e.g. "task_struct.real_parent" or "enum foo::BAR" */
	char *raw_access; /* the access string of the .BTF.ext record, e.g. "0:54" */
	char *target_spec; /* libbpf's formatted spec of the chosen candidate */
	__u64 local_val, target_val;
	__u32 orig_sz, new_sz, target_type_id;
	int cands;
	int matched;
	bool poison;
	bool calc_failed, patch_failed;
	int err;
	char *reason;
};

/* the invalid helper id libbpf writes into an instruction it poisons (0xbad2310) */
#define CORE_POISON_IMM 195896080

static struct relo_rec *recs;
static int nr_recs;

/* the log captured by corebpf.c: the warnings libbpf prints while it decides */
extern char *cb_log;
extern size_t cb_log_len;

/* relo_core.c's calls to bpf_core_format_spec() come here (libbpf.mk): the specs are only
 * for libbpf's debug messages, so format them only when those are kept */
int cb_debug_messages(void);

int vk_core_format_spec(char *buf, size_t buf_sz, const struct bpf_core_spec *spec)
{
	if (cb_debug_messages())
		return bpf_core_format_spec(buf, buf_sz, spec);
	if (buf_sz)
		buf[0] = 0;
	return 0;
}

void core_report_reset(void)
{
	int i;

	for (i = 0; i < nr_recs; i++) {
		free(recs[i].prog);
		free(recs[i].type);
		free(recs[i].access);
		free(recs[i].raw_access);
		free(recs[i].target_spec);
		free(recs[i].reason);
	}
	free(recs);
	recs = NULL;
	nr_recs = 0;
}

int core_report_count(void)
{
	return nr_recs;
}

int core_report_failed(void)
{
	int i, n = 0;

	for (i = 0; i < nr_recs; i++)
		n += recs[i].poison || recs[i].calc_failed || recs[i].patch_failed;
	return n;
}

int core_report_hard_failed(void)
{
	int i;

	for (i = 0; i < nr_recs; i++)
		if (recs[i].calc_failed || recs[i].patch_failed)
			return 1;
	return 0;
}

static const char *kind_name(__u32 kind)
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

static bool kind_is_field(__u32 kind)
{
	return kind <= BPF_CORE_FIELD_RSHIFT_U64;
}

static bool kind_is_enumval(__u32 kind)
{
	return kind == BPF_CORE_ENUMVAL_EXISTS || kind == BPF_CORE_ENUMVAL_VALUE;
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, f);
	if (vasprintf(&s, f, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

static char *type_str(const struct btf *btf, __u32 id)
{
	const struct btf_type *t = btf__type_by_id(btf, id);
	const char *name;

	if (!t)
		return strdup("<invalid>");
	name = btf__name_by_offset(btf, t->name_off);
	return fmt("%s %s", btf_kind_str(t), name && *name ? name : "<anon>");
}

/* C-like access path from libbpf's parsed local spec: task_struct.real_parent, s[2].x */
static char *access_str(const struct btf *btf, const struct bpf_core_spec *spec, __u32 kind)
{
	const struct btf_type *t = btf__type_by_id(btf, spec->root_type_id);
	const char *root = t ? btf__name_by_offset(btf, t->name_off) : NULL;
	char buf[1024];
	size_t n = 0;
	int i;

	buf[0] = 0;
	n += snprintf(buf + n, sizeof(buf) - n, "%s", root && *root ? root : "<anon>");
	if (kind_is_enumval(kind) && spec->len > 0) {
		snprintf(buf + n, sizeof(buf) - n, "::%s", spec->spec[0].name ? spec->spec[0].name : "?");
		return strdup(buf);
	}
	if (!kind_is_field(kind))
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
static char *last_warning(size_t from)
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
static bool be_lshift_u64(const struct bpf_core_spec *spec, __u64 *val)
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

int vk_core_calc_relo_insn(const char *prog_name, const struct bpf_core_relo *relo, int relo_idx,
			   const struct btf *local_btf, struct bpf_core_cand_list *cands,
			   struct bpf_core_spec *specs_scratch, struct bpf_core_relo_res *targ_res)
{
	size_t log_from = cb_log_len;
	struct relo_rec *r, *nr;
	const char *raw;
	int err, ncands = cands ? cands->len : 0;

	memset(targ_res, 0, sizeof(*targ_res));
	/* libbpf fills the target spec only when a candidate matched: zero means none did */
	memset(&specs_scratch[2], 0, sizeof(specs_scratch[2]));
	err = bpf_core_calc_relo_insn(prog_name, relo, relo_idx, local_btf, cands, specs_scratch, targ_res);
	if (!err && relo->kind == BPF_CORE_FIELD_LSHIFT_U64) {
		__u64 v;

		if (be_lshift_u64(&specs_scratch[0], &v))
			targ_res->orig_val = v;
		if (!targ_res->poison && be_lshift_u64(&specs_scratch[2], &v))
			targ_res->new_val = v;
	}

	nr = realloc(recs, sizeof(*recs) * (nr_recs + 1));
	if (!nr)
		return err ? err : -ENOMEM;
	recs = nr;
	r = &recs[nr_recs++];
	memset(r, 0, sizeof(*r));
	r->prog = strdup(prog_name);
	r->relo_idx = relo_idx;
	r->insn = -1;
	r->kind = relo->kind;
	r->local_type_id = relo->type_id;
	r->type = type_str(local_btf, relo->type_id);
	raw = btf__name_by_offset(local_btf, relo->access_str_off);
	r->raw_access = strdup(raw ? raw : "");
	r->cands = ncands;
	r->err = err;
	if (err) {
		r->calc_failed = true;
		{
			const struct btf_type *lt = btf__type_by_id(local_btf, relo->type_id);
			const char *ln = lt ? btf__name_by_offset(local_btf, lt->name_off) : NULL;

			r->access = kind_is_field(relo->kind) ? fmt("%s (raw %s)", ln && *ln ? ln : "<anon>", r->raw_access)
							       : strdup(ln && *ln ? ln : "<anon>");
		}
		r->reason = last_warning(log_from);
		if (!r->reason)
			r->reason = fmt("libbpf could not compute the relocation (error %d)", err);
		return err;
	}
	r->access = access_str(local_btf, &specs_scratch[0], relo->kind);
	r->local_val = targ_res->orig_val;
	r->target_val = targ_res->new_val;
	r->poison = targ_res->poison;
	r->orig_sz = targ_res->orig_sz;
	r->new_sz = targ_res->new_sz;
	r->target_type_id = targ_res->new_type_id;
	/* libbpf narrows cands to the matching ones when there are any */
	r->matched = (cands && specs_scratch[2].btf) ? cands->len : 0;
	if (r->matched > 0) {
		char buf[512];

		bpf_core_format_spec(buf, sizeof(buf), &specs_scratch[2]);
		r->target_spec = strdup(buf);
	}
	if (targ_res->poison) {
		if (ncands == 0)
			r->reason = fmt("target BTF has no %s (no type with this name and a compatible kind)", r->type);
		else if (kind_is_field(relo->kind))
			r->reason = fmt("%d candidate %s in target BTF, but none has field %s", ncands,
					ncands == 1 ? "type" : "types", r->access);
		else if (kind_is_enumval(relo->kind))
			r->reason = fmt("%d candidate %s in target BTF, but none has enumerator %s", ncands,
					ncands == 1 ? "enum" : "enums", r->access);
		else
			r->reason = fmt("%d candidate %s in target BTF, none compatible with %s", ncands,
					ncands == 1 ? "type" : "types", r->type);
	}
	return 0;
}

int vk_core_patch_insn(const char *prog_name, struct bpf_insn *insn, int insn_idx,
		       const struct bpf_core_relo *relo, int relo_idx,
		       const struct bpf_core_relo_res *res)
{
	size_t log_from = cb_log_len;
	int err = bpf_core_patch_insn(prog_name, insn, insn_idx, relo, relo_idx, res);
	struct relo_rec *r = nr_recs ? &recs[nr_recs - 1] : NULL;

	if (!r || r->relo_idx != relo_idx || strcmp(r->prog, prog_name) != 0)
		return err;
	r->insn = insn_idx;
	/* the patch step can poison too (a load whose field size changed incompatibly) */
	if (!err && !res->poison && insn->code == (BPF_JMP | BPF_CALL) && insn->imm == CORE_POISON_IMM) {
		r->poison = true;
		free(r->reason);
		r->reason = res->fail_memsz_adjust
			? fmt("field size changed from %u to %u bytes in the target and the access cannot be adjusted (not a pointer or unsigned integer of matching type)",
			      res->orig_sz, res->new_sz)
			: last_warning(log_from);
		if (!r->reason)
			r->reason = fmt("libbpf poisoned instruction #%d", insn_idx);
	}
	if (err) {
		r->patch_failed = true;
		r->err = err;
		free(r->reason);
		r->reason = last_warning(log_from);
		if (res->fail_memsz_adjust && !r->reason)
			r->reason = fmt("field size changed from %u to %u bytes and the load cannot be adjusted",
					res->orig_sz, res->new_sz);
		if (!r->reason)
			r->reason = fmt("libbpf could not patch instruction #%d (error %d)", insn_idx, err);
	}
	return err;
}

void core_report_json(struct json *j, bool failed_only)
{
	int i;

	json_arr_begin(j);
	for (i = 0; i < nr_recs; i++) {
		struct relo_rec *r = &recs[i];
		bool failed = r->poison || r->calc_failed || r->patch_failed;

		if (failed_only && !failed)
			continue;
		json_obj_begin(j);
		json_kstr(j, "program", r->prog);
		json_ku64(j, "relo", r->relo_idx);
		json_key(j, "insn");
		if (r->insn >= 0)
			json_u64(j, r->insn);
		else
			json_null(j);
		json_kstr(j, "kind", kind_name(r->kind));
		json_kstr(j, "type", r->type);
		json_ku64(j, "localTypeId", r->local_type_id);
		json_kstr(j, "access", r->access);
		json_kstr(j, "rawAccess", r->raw_access);
		json_kstr(j, "status", failed ? "failed" : "resolved");
		json_key(j, "local");
		if (r->calc_failed)
			json_null(j);
		else
			json_u64_str(j, r->local_val);
		json_key(j, "target");
		if (failed)
			json_null(j);
		else
			json_u64_str(j, r->target_val);
		json_ku64(j, "candidates", r->cands);
		json_ku64(j, "matched", r->matched);
		if (r->target_spec)
			json_kstr(j, "targetSpec", r->target_spec);
		if (r->target_type_id)
			json_ku64(j, "targetTypeId", r->target_type_id);
		if (r->orig_sz || r->new_sz) {
			json_ku64(j, "localSize", r->orig_sz);
			json_ku64(j, "targetSize", r->new_sz);
		}
		if (r->poison)
			json_kbool(j, "poisoned", true);
		if (r->reason)
			json_kstr(j, "reason", r->reason);
		json_obj_end(j);
	}
	json_arr_end(j);
}

/* the programs with a relocation record, each once, in the order of their first record: what
 * a caller that gets only the failed records (CB_REPORT_FAILED) still learns of the others */
void core_report_programs_json(struct json *j)
{
	int i, k;

	json_arr_begin(j);
	for (i = 0; i < nr_recs; i++) {
		const char *p = recs[i].prog;

		/* libbpf relocates program by program: most records follow one of their own */
		if (i && strcmp(recs[i - 1].prog, p) == 0)
			continue;
		for (k = 0; k < i && strcmp(recs[k].prog, p); k++)
			;
		if (k == i)
			json_str(j, p);
	}
	json_arr_end(j);
}
