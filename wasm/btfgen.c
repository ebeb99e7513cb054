/* `corebpf btf min`: BTFGen, the smallest BTF that relocates the given objects exactly as
 * the full kernel BTF does (what `bpftool gen min_core_btf` writes, the BTFHub approach).
 *
 * Each object's CO-RE relocation records are resolved against the full BTF by libbpf's own
 * relo_core (bpf_core_calc_relo_insn, candidates as bpf_core_add_cands finds them), and the target
 * spec of each says what the relocation reads there:
 *   field relocations  the root type, and along the access path each struct/union member
 *                      named and that member's type (not the types behind pointers);
 *   type relocations   the type and everything it refers to, pointers followed;
 *   type_matches       the type with all members, composites behind pointers not expanded;
 *   enum relocations   the enum type (all values).
 * The output keeps the marked types in id order, structs and unions with only their marked
 * members (at their original bit offsets, sizes unchanged), and type ids renumbered; a
 * reference to an unmarked type becomes void. The file has the target's byte order. Only
 * CO-RE relocations are covered: typed ksyms and other vmlinux lookups need the full BTF. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "btf.h"
#include "libbpf_internal.h"
#include "relo_core.h"

/* libbpf's bpf_core_add_cands() as linked here (wasm/cand_index.c; libbpf.mk renames
 * libbpf's own): for a target that is not an indexed relocation target it is libbpf's scan */
int vk_core_add_cands(struct bpf_core_cand *local_cand, size_t local_essent_len,
		      const struct btf *targ_btf, const char *targ_btf_name, int targ_start_id,
		      struct bpf_core_cand_list *cands);

#include "cb_export.h"
#include "cb_result.h"

struct btfgen {
	const struct btf *src;
	__u32 nr_types;
	bool *used;     /* by type id */
	bool **members; /* by type id: per-member flags of a struct/union, allocated when marked */
	char err[256];
};

static int gen_fail(struct btfgen *g, int err, const char *what, __u32 id)
{
	snprintf(g->err, sizeof(g->err), "%s (type [%u])", what, id);
	return err;
}

static int mark_member(struct btfgen *g, __u32 id, int idx)
{
	const struct btf_type *t = btf__type_by_id(g->src, id);

	if (idx < 0 || idx >= btf_vlen(t))
		return gen_fail(g, -EINVAL, "member index out of range", id);
	if (!g->members[id]) {
		g->members[id] = calloc(btf_vlen(t), sizeof(bool));
		if (!g->members[id])
			return -ENOMEM;
	}
	g->members[id][idx] = true;
	return 0;
}

/* the type, and what it is made of; through pointers only when `follow` */
static int mark_type(struct btfgen *g, __u32 id, bool follow)
{
	const struct btf_type *t;
	const struct btf_param *p;
	int err = 0, i;

	if (id == 0)
		return 0;
	if (id >= g->nr_types)
		return gen_fail(g, -EINVAL, "type id out of range", id);
	t = btf__type_by_id(g->src, id);
	g->used[id] = true;
	switch (btf_kind(t)) {
	case BTF_KIND_INT: case BTF_KIND_FLOAT: case BTF_KIND_ENUM: case BTF_KIND_ENUM64:
	case BTF_KIND_STRUCT: case BTF_KIND_UNION:
		return 0;
	case BTF_KIND_PTR:
		return follow ? mark_type(g, t->type, follow) : 0;
	case BTF_KIND_CONST: case BTF_KIND_VOLATILE: case BTF_KIND_RESTRICT: case BTF_KIND_TYPEDEF:
		return mark_type(g, t->type, follow);
	case BTF_KIND_ARRAY:
		err = mark_type(g, btf_array(t)->type, follow);
		return err ? err : mark_type(g, btf_array(t)->index_type, follow);
	case BTF_KIND_FUNC_PROTO:
		err = mark_type(g, t->type, follow);
		for (i = 0, p = btf_params(t); i < btf_vlen(t) && !err; i++, p++)
			err = mark_type(g, p->type, follow);
		return err;
	default:
		return gen_fail(g, -EINVAL, "a relocation reaches a type of a kind BTFGen does not keep", id);
	}
}

/* type_matches: whole composites, except those reached through a pointer */
static int mark_type_match(struct btfgen *g, __u32 id, bool behind_ptr)
{
	const struct btf_type *t;
	const struct btf_member *m;
	const struct btf_param *p;
	int err = 0, i;

	if (id == 0)
		return 0;
	if (id >= g->nr_types)
		return gen_fail(g, -EINVAL, "type id out of range", id);
	t = btf__type_by_id(g->src, id);
	g->used[id] = true;
	switch (btf_kind(t)) {
	case BTF_KIND_INT: case BTF_KIND_FLOAT: case BTF_KIND_ENUM: case BTF_KIND_ENUM64:
		return 0;
	case BTF_KIND_STRUCT: case BTF_KIND_UNION:
		if (behind_ptr)
			return 0;
		for (i = 0, m = btf_members(t); i < btf_vlen(t) && !err; i++, m++) {
			err = mark_member(g, id, i);
			if (!err)
				err = mark_type_match(g, m->type, false);
		}
		return err;
	case BTF_KIND_CONST: case BTF_KIND_VOLATILE: case BTF_KIND_RESTRICT: case BTF_KIND_TYPEDEF:
	case BTF_KIND_FWD:
		return mark_type_match(g, t->type, behind_ptr);
	case BTF_KIND_PTR:
		return mark_type_match(g, t->type, true);
	case BTF_KIND_ARRAY:
		err = mark_type_match(g, btf_array(t)->type, false);
		return err ? err : mark_type_match(g, btf_array(t)->index_type, false);
	case BTF_KIND_FUNC_PROTO:
		err = mark_type_match(g, t->type, false);
		for (i = 0, p = btf_params(t); i < btf_vlen(t) && !err; i++, p++)
			err = mark_type_match(g, p->type, false);
		return err;
	default:
		return gen_fail(g, -EINVAL, "a type_matches relocation reaches a type of a kind BTFGen does not keep", id);
	}
}

/* a field relocation: the root, then each step of the raw access path */
static int mark_field(struct btfgen *g, const struct bpf_core_spec *s)
{
	__u32 id = s->root_type_id;
	const struct btf_type *t;
	int err = mark_type(g, id, false), i;

	for (i = 1; i < s->raw_len && !err; i++) {
		t = btf__type_by_id(g->src, id);
		while (btf_is_mod(t) || btf_is_typedef(t)) {
			id = t->type;
			t = btf__type_by_id(g->src, id);
		}
		if (btf_is_composite(t)) {
			err = mark_member(g, id, s->raw_spec[i]);
			if (err)
				break;
			id = btf_members(t)[s->raw_spec[i]].type;
			err = mark_type(g, id, false);
		} else if (btf_is_array(t)) {
			id = btf_array(t)->type;
		} else {
			err = gen_fail(g, -EINVAL, "a field access path steps into a type that is neither composite nor array", id);
		}
	}
	return err;
}

static int mark_relo(struct btfgen *g, const struct bpf_core_spec *targ)
{
	switch (targ->relo_kind) {
	case BPF_CORE_FIELD_BYTE_OFFSET: case BPF_CORE_FIELD_BYTE_SIZE: case BPF_CORE_FIELD_EXISTS:
	case BPF_CORE_FIELD_SIGNED: case BPF_CORE_FIELD_LSHIFT_U64: case BPF_CORE_FIELD_RSHIFT_U64:
		return mark_field(g, targ);
	case BPF_CORE_TYPE_ID_LOCAL:
		return 0; /* answered from the object's own BTF */
	case BPF_CORE_TYPE_ID_TARGET: case BPF_CORE_TYPE_EXISTS: case BPF_CORE_TYPE_SIZE:
		return mark_type(g, targ->root_type_id, true);
	case BPF_CORE_TYPE_MATCHES:
		return mark_type_match(g, targ->root_type_id, false);
	case BPF_CORE_ENUMVAL_EXISTS: case BPF_CORE_ENUMVAL_VALUE:
		return mark_type(g, targ->root_type_id, false);
	default:
		return gen_fail(g, -EINVAL, "unknown CO-RE relocation kind", targ->root_type_id);
	}
}

static struct bpf_core_cand_list *find_cands(const struct btf *local, const struct btf *targ, __u32 local_id)
{
	struct bpf_core_cand local_cand = { .btf = local, .id = local_id };
	const struct btf_type *t = btf__type_by_id(local, local_id);
	struct bpf_core_cand_list *cands;
	const char *name;

	if (!t || !(name = btf__name_by_offset(local, t->name_off)))
		return NULL;
	cands = calloc(1, sizeof(*cands));
	if (!cands)
		return NULL;
	if (vk_core_add_cands(&local_cand, bpf_core_essential_name_len(name), targ, "vmlinux", 1, cands)) {
		bpf_core_free_cands(cands);
		return NULL;
	}
	return cands;
}

/* every CO-RE relocation of one object (its .BTF and .BTF.ext), resolved against g->src */
static int mark_object(struct btfgen *g, const struct btf *btf, const struct btf_ext *ext)
{
	const struct btf_ext_info *seg = &ext->core_relo_info;
	const struct btf_ext_info_sec *sec;
	const struct bpf_core_relo *relo;
	__u32 nr_local = btf__type_cnt(btf), i;
	struct bpf_core_cand_list **cache = calloc(nr_local, sizeof(*cache));
	int err = 0;

	if (!cache)
		return -ENOMEM;
	for_each_btf_ext_sec(seg, sec) {
		const char *sec_name = btf__name_by_offset(btf, sec->sec_name_off);

		for_each_btf_ext_rec(seg, sec, i, relo) {
			struct bpf_core_spec specs[3] = {};
			struct bpf_core_relo_res res = {};
			struct bpf_core_cand_list *cands = NULL;

			if (relo->type_id >= nr_local) {
				err = gen_fail(g, -EINVAL, "a CO-RE record names a type the object's BTF lacks", relo->type_id);
				goto out;
			}
			if (relo->kind != BPF_CORE_TYPE_ID_LOCAL) {
				if (!cache[relo->type_id] && !(cache[relo->type_id] = find_cands(btf, g->src, relo->type_id))) {
					err = gen_fail(g, -ENOMEM, "finding candidates", relo->type_id);
					goto out;
				}
				cands = cache[relo->type_id];
			}
			err = bpf_core_calc_relo_insn(sec_name ? sec_name : "?", relo, i, btf, cands, specs, &res);
			if (err) {
				gen_fail(g, err, "libbpf could not resolve a CO-RE relocation against the full BTF", relo->type_id);
				goto out;
			}
			err = mark_relo(g, &specs[2]); /* [2]: the target spec */
			if (err)
				goto out;
		}
	}
out:
	for (i = 0; i < nr_local; i++)
		if (cache[i])
			bpf_core_free_cands(cache[i]);
	free(cache);
	return err;
}

/* the marked types in id order, composites with their marked members, ids renumbered */
static struct btf *build(struct btfgen *g)
{
	struct btf *out = btf__new_empty();
	__u32 *ids = calloc(g->nr_types, sizeof(*ids)), id, i;
	int err = 0;

	if (!out || !ids)
		goto fail;
	for (id = 1; id < g->nr_types && err >= 0; id++) {
		const struct btf_type *t = btf__type_by_id(g->src, id);

		if (!g->used[id])
			continue;
		if (btf_is_composite(t)) {
			const char *name = btf__str_by_offset(g->src, t->name_off);
			const struct btf_member *m = btf_members(t);

			err = btf_is_struct(t) ? btf__add_struct(out, name, t->size) : btf__add_union(out, name, t->size);
			if (err < 0)
				break;
			ids[id] = err;
			for (i = 0; i < btf_vlen(t) && err >= 0; i++, m++) {
				if (!g->members[id] || !g->members[id][i])
					continue;
				/* old ids for now: renumbered below with the others */
				err = btf__add_field(out, btf__str_by_offset(g->src, m->name_off), m->type,
						     btf_member_bit_offset(t, i), btf_member_bitfield_size(t, i));
			}
		} else {
			err = btf__add_type(out, g->src, t);
			if (err >= 0)
				ids[id] = err;
		}
	}
	if (err < 0)
		goto fail;
	for (id = 1; id < btf__type_cnt(out); id++) {
		struct btf_field_iter it;
		__u32 *ref;

		if (btf_field_iter_init(&it, (struct btf_type *)btf__type_by_id(out, id), BTF_FIELD_ITER_IDS))
			goto fail;
		while ((ref = btf_field_iter_next(&it)))
			*ref = *ref < g->nr_types ? ids[*ref] : 0;
	}
	free(ids);
	return out;
fail:
	btf__free(out);
	free(ids);
	return NULL;
}

/* The result (kind btfgen, wasm/cb_result.h): the minimal BTF, or why not and the errno's
 * name as the status */
static char *result(int err, const char *why, const void *btf, __u32 len)
{
	const void *part[CB_RESULT_BTFGEN_NR_PARTS];
	uint32_t plen[CB_RESULT_BTFGEN_NR_PARTS];

	part[CB_RESULT_BTFGEN_ERROR] = why;
	plen[CB_RESULT_BTFGEN_ERROR] = (uint32_t)strlen(why);
	part[CB_RESULT_BTFGEN_BTF] = btf;
	plen[CB_RESULT_BTFGEN_BTF] = len;
	return cb_result_bytes(CB_RESULT_KIND_BTFGEN, err ? cb_errno_name(err) : CB_RESULT_STATUS_OK, part, plen);
}

/* targ: the full BTF; objs: n pairs of (.BTF, .BTF.ext) as pointer/length quads. Returns the
 * result header (kind btfgen) and the minimal raw BTF, or why not; NULL only when out of
 * memory. */
CB_EXPORT char *cb_btfgen(const void *targ, size_t targ_len, const uint32_t *objs, int n)
{
	struct btfgen g = {};
	struct btf *out = NULL;
	const void *raw;
	__u32 raw_len = 0, id;
	char *r = NULL;
	int i, err = 0;

	g.src = btf__new(targ, targ_len);
	if (!g.src) {
		err = -errno;
		snprintf(g.err, sizeof(g.err), "the target is not valid BTF: %s", strerror(errno));
		goto out;
	}
	g.nr_types = btf__type_cnt(g.src);
	g.used = calloc(g.nr_types, sizeof(bool));
	g.members = calloc(g.nr_types, sizeof(bool *));
	if (!g.used || !g.members)
		goto out;
	for (i = 0; i < n && !err; i++) {
		const uint32_t *o = objs + 4 * i;
		struct btf *btf = btf__new((const void *)(uintptr_t)o[0], o[1]);
		struct btf_ext *ext = btf ? btf_ext__new((const __u8 *)(uintptr_t)o[2], o[3]) : NULL;

		if (!btf || !ext) {
			snprintf(g.err, sizeof(g.err), "object #%d: its %s is not valid: %s", i, btf ? ".BTF.ext" : ".BTF", strerror(errno));
			err = -EINVAL;
		} else {
			err = mark_object(&g, btf, ext);
			if (err && !g.err[0])
				snprintf(g.err, sizeof(g.err), "object #%d: %s", i, strerror(-err));
			else if (err)
				snprintf(g.err + strlen(g.err), sizeof(g.err) - strlen(g.err), " in object #%d", i);
		}
		btf_ext__free(ext);
		btf__free(btf);
	}
	if (err)
		goto out;
	out = build(&g);
	if (!out) {
		err = -errno;
		snprintf(g.err, sizeof(g.err), "building the minimal BTF failed: %s", strerror(errno));
		goto out;
	}
	/* in the target's byte order: a big-endian kernel's file stays big-endian */
	btf__set_endianness(out, btf__endianness(g.src));
	raw = btf__raw_data(out, &raw_len);
	r = raw ? result(0, "", raw, raw_len) : NULL;
out:
	if (!r && g.err[0])
		r = result(err ? -err : EINVAL, g.err, "", 0);
	btf__free(out);
	if (g.members)
		for (id = 0; id < g.nr_types; id++)
			free(g.members[id]);
	free(g.members);
	free(g.used);
	btf__free((struct btf *)g.src);
	return r;
}
