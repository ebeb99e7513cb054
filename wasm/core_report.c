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
#include "core_report_fmt.h"
#include "json.h"
#include "log.h"

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

/* relo_core.c's calls to bpf_core_format_spec() come here (libbpf.mk): the specs are only
 * for libbpf's debug messages, so format them only when those are kept */

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

		if (core_be_lshift_u64(&specs_scratch[0], &v))
			targ_res->orig_val = v;
		if (!targ_res->poison && core_be_lshift_u64(&specs_scratch[2], &v))
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
	r->type = core_type_str(local_btf, relo->type_id);
	raw = btf__name_by_offset(local_btf, relo->access_str_off);
	r->raw_access = strdup(raw ? raw : "");
	r->cands = ncands;
	r->err = err;
	if (err) {
		r->calc_failed = true;
		{
			const struct btf_type *lt = btf__type_by_id(local_btf, relo->type_id);
			const char *ln = lt ? btf__name_by_offset(local_btf, lt->name_off) : NULL;

			r->access = core_kind_is_field(relo->kind) ? core_fmt("%s (raw %s)", ln && *ln ? ln : "<anon>", r->raw_access)
							       : strdup(ln && *ln ? ln : "<anon>");
		}
		r->reason = core_last_warning(log_from);
		if (!r->reason)
			r->reason = core_fmt("libbpf could not compute the relocation (error %d)", err);
		return err;
	}
	r->access = core_access_str(local_btf, &specs_scratch[0], relo->kind);
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
			r->reason = core_fmt("target BTF has no %s (no type with this name and a compatible kind)", r->type);
		else if (core_kind_is_field(relo->kind))
			r->reason = core_fmt("%d candidate %s in target BTF, but none has field %s", ncands,
					ncands == 1 ? "type" : "types", r->access);
		else if (core_kind_is_enumval(relo->kind))
			r->reason = core_fmt("%d candidate %s in target BTF, but none has enumerator %s", ncands,
					ncands == 1 ? "enum" : "enums", r->access);
		else
			r->reason = core_fmt("%d candidate %s in target BTF, none compatible with %s", ncands,
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
			? core_fmt("field size changed from %u to %u bytes in the target and the access cannot be adjusted (not a pointer or unsigned integer of matching type)",
			      res->orig_sz, res->new_sz)
			: core_last_warning(log_from);
		if (!r->reason)
			r->reason = core_fmt("libbpf poisoned instruction #%d", insn_idx);
	}
	if (err) {
		r->patch_failed = true;
		r->err = err;
		free(r->reason);
		r->reason = core_last_warning(log_from);
		if (res->fail_memsz_adjust && !r->reason)
			r->reason = core_fmt("field size changed from %u to %u bytes and the load cannot be adjusted",
					res->orig_sz, res->new_sz);
		if (!r->reason)
			r->reason = core_fmt("libbpf could not patch instruction #%d (error %d)", insn_idx, err);
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
		json_kstr(j, "kind", core_kind_name(r->kind));
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
