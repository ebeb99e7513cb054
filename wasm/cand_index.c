/* An index of a target BTF's types by CO-RE "essential name" (the name up to "___"),
 * built once when the target is registered.
 *
 * libbpf finds CO-RE candidates by scanning every type of the target BTF for each local
 * type (bpf_core_add_cands): with a kernel's ~100k types that scan is most of a warm
 * relocation. This definition replaces libbpf's bpf_core_add_cands() (see libbpf.mk): for
 * an indexed target it visits only the ids whose essential name hashes to the local
 * type's bucket, in ascending id order, and applies libbpf's own tests to each — so the
 * candidate list is the one libbpf's scan gives. (Checked by the native/wasm differential
 * and by test/stock-libbpf.test.ts against Debian's unmodified libbpf.)
 *
 * Layout: two flat arrays. One pass computes each named type's bucket, a counting sort
 * groups the ids by bucket keeping id order; a bucket may hold several names. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "btf.h"
#include "libbpf_internal.h"
#include "relo_core.h"

#include "cand_index.h"

struct cand_index {
	const struct btf *btf;
	uint32_t mask;
	uint32_t *start; /* [mask + 2]: bucket b holds ids[start[b] .. start[b + 1]) */
	uint32_t *ids;
};

/* the kinds a CO-RE candidate can have (btf_kind_core_compat: same kind, or struct/union
 * vs fwd, enum vs enum64); names of other kinds (FUNC: ~80% of a kernel's named types,
 * VAR, DATASEC, DECL_TAG, TYPE_TAG) are not indexed, and a local type of such a kind
 * falls back to libbpf's full scan */
static bool indexed_kind(const struct btf_type *t)
{
	switch (btf_kind(t)) {
	case BTF_KIND_INT: case BTF_KIND_PTR: case BTF_KIND_ARRAY: case BTF_KIND_STRUCT:
	case BTF_KIND_UNION: case BTF_KIND_ENUM: case BTF_KIND_FWD: case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE: case BTF_KIND_CONST: case BTF_KIND_RESTRICT:
	case BTF_KIND_FUNC_PROTO: case BTF_KIND_FLOAT: case BTF_KIND_ENUM64:
		return true;
	default:
		return false;
	}
}

static uint32_t hash_name(const char *s, size_t len)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

struct cand_index *cand_index_build(const struct btf *btf)
{
	uint32_t n = btf__type_cnt(btf), nb = 1024, i, named = 0;
	struct cand_index *ix = calloc(1, sizeof(*ix));
	uint32_t *bk = NULL;

	if (!ix)
		return NULL;
	while (nb < n / 2)
		nb <<= 1;
	ix->btf = btf;
	ix->mask = nb - 1;
	ix->start = calloc(nb + 1, sizeof(uint32_t));
	bk = malloc(n * sizeof(uint32_t));
	if (!ix->start || !bk)
		goto fail;
	bk[0] = UINT32_MAX;
	for (i = 1; i < n; i++) {
		const struct btf_type *t = btf__type_by_id(btf, i);
		const char *name = t->name_off && indexed_kind(t) ? btf__name_by_offset(btf, t->name_off) : NULL;

		if (!name || !*name) {
			bk[i] = UINT32_MAX;
			continue;
		}
		bk[i] = hash_name(name, bpf_core_essential_name_len(name)) & ix->mask;
		ix->start[bk[i] + 1]++;
		named++;
	}
	for (i = 0; i < nb; i++)
		ix->start[i + 1] += ix->start[i];
	ix->ids = malloc((named ? named : 1) * sizeof(uint32_t));
	if (!ix->ids)
		goto fail;
	/* place ids with start[b] as the cursor, then shift the cursors back into starts */
	for (i = 1; i < n; i++)
		if (bk[i] != UINT32_MAX)
			ix->ids[ix->start[bk[i]]++] = i;
	memmove(ix->start + 1, ix->start, nb * sizeof(uint32_t));
	ix->start[0] = 0;
	free(bk);
	return ix;
fail:
	free(bk);
	cand_index_free(ix);
	return NULL;
}

void cand_index_free(struct cand_index *ix)
{
	if (!ix)
		return;
	free(ix->start);
	free(ix->ids);
	free(ix);
}

int vk_core_add_cands(struct bpf_core_cand *local_cand, size_t local_essent_len,
		      const struct btf *targ_btf, const char *targ_btf_name, int targ_start_id,
		      struct bpf_core_cand_list *cands)
{
	const struct cand_index *ix = vk_target_index(targ_btf);
	const struct btf_type *local_t = btf__type_by_id(local_cand->btf, local_cand->id);
	const char *local_name = btf__str_by_offset(local_cand->btf, local_t->name_off);
	uint32_t k, from, to;

	if (ix && !indexed_kind(local_t))
		ix = NULL;
	if (ix) {
		uint32_t b = hash_name(local_name, local_essent_len) & ix->mask;

		from = ix->start[b];
		to = ix->start[b + 1];
	} else {
		from = targ_start_id;
		to = btf__type_cnt(targ_btf);
	}
	for (k = from; k < to; k++) {
		uint32_t i = ix ? ix->ids[k] : k;
		const struct btf_type *t;
		const char *targ_name;
		struct bpf_core_cand *nc;

		if ((int)i < targ_start_id)
			continue;
		t = btf__type_by_id(targ_btf, i);
		if (!btf_kind_core_compat(t, local_t))
			continue;
		targ_name = btf__name_by_offset(targ_btf, t->name_off);
		if (!targ_name || !*targ_name || bpf_core_essential_name_len(targ_name) != local_essent_len ||
		    strncmp(local_name, targ_name, local_essent_len) != 0)
			continue;
		pr_debug("CO-RE relocating [%d] %s %s: found target candidate [%d] %s %s in [%s]\n",
			 local_cand->id, btf_kind_str(local_t), local_name, i, btf_kind_str(t),
			 targ_name, targ_btf_name);
		nc = libbpf_reallocarray(cands->cands, cands->len + 1, sizeof(*cands->cands));
		if (!nc)
			return -ENOMEM;
		nc[cands->len].btf = targ_btf;
		nc[cands->len].id = i;
		cands->cands = nc;
		cands->len++;
	}
	return 0;
}
