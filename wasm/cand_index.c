/* An index of a target BTF's types by CO-RE "essential name" (the name up to "___"),
 * built once when the target is registered.
 *
 * libbpf finds CO-RE candidates by scanning every type of the target BTF for each local
 * type (bpf_core_add_cands): with a kernel's ~100k types that scan is most of a warm
 * relocation. This definition replaces libbpf's bpf_core_add_cands() (see libbpf.mk);
 * for an indexed target we visit only the types with the same essential name, in
 * ascending id order, and apply libbpf's own tests — so the candidate list is the one
 * libbpf's scan gives (the native/wasm differential and the warm-vs-cold tests check it). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "btf.h"
#include "libbpf_internal.h"
#include "relo_core.h"

#include "cand_index.h"

struct bucket {
	const char *name; /* in the target's string section; NULL: empty bucket */
	uint32_t len;
	uint32_t hash;
	uint32_t *ids;
	uint32_t n, cap;
};

struct cand_index {
	const struct btf *btf;
	struct bucket *b;
	uint32_t mask;
};

/* Kinds never indexed: a kernel has tens of thousands of FUNCs, and no CO-RE relocation's
 * local type is of these kinds in practice; one that is gets libbpf's full scan. */
static bool kind_indexed(const struct btf_type *t)
{
	switch (btf_kind(t)) {
	case BTF_KIND_FUNC:
	case BTF_KIND_VAR:
	case BTF_KIND_DATASEC:
	case BTF_KIND_DECL_TAG:
	case BTF_KIND_TYPE_TAG:
		return false;
	default:
		return true;
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

static struct bucket *lookup(const struct cand_index *ix, const char *name, size_t len, uint32_t h)
{
	uint32_t i = h & ix->mask;

	for (;; i = (i + 1) & ix->mask) {
		struct bucket *b = &ix->b[i];

		if (!b->name || (b->hash == h && b->len == len && memcmp(b->name, name, len) == 0))
			return b;
	}
}

struct cand_index *cand_index_build(const struct btf *btf)
{
	uint32_t n = btf__type_cnt(btf), size = 1024, i;
	struct cand_index *ix = calloc(1, sizeof(*ix));

	if (!ix)
		return NULL;
	while (size < 2 * n)
		size <<= 1;
	ix->btf = btf;
	ix->mask = size - 1;
	ix->b = calloc(size, sizeof(*ix->b));
	if (!ix->b)
		goto fail;
	for (i = 1; i < n; i++) {
		const struct btf_type *t = btf__type_by_id(btf, i);
		const char *name;
		size_t len;
		uint32_t h;
		struct bucket *b;

		if (!t->name_off || !kind_indexed(t))
			continue;
		name = btf__name_by_offset(btf, t->name_off);
		if (!name || !*name)
			continue;
		len = bpf_core_essential_name_len(name);
		h = hash_name(name, len);
		b = lookup(ix, name, len, h);
		if (!b->name) {
			b->name = name;
			b->len = len;
			b->hash = h;
		}
		if (b->n == b->cap) {
			uint32_t cap = b->cap ? b->cap * 2 : 2;
			uint32_t *ids = realloc(b->ids, cap * sizeof(*ids));

			if (!ids)
				goto fail;
			b->ids = ids;
			b->cap = cap;
		}
		b->ids[b->n++] = i;
	}
	return ix;
fail:
	cand_index_free(ix);
	return NULL;
}

void cand_index_free(struct cand_index *ix)
{
	uint32_t i;

	if (!ix)
		return;
	if (ix->b)
		for (i = 0; i <= ix->mask; i++)
			free(ix->b[i].ids);
	free(ix->b);
	free(ix);
}

int vk_core_add_cands(struct bpf_core_cand *local_cand, size_t local_essent_len,
		      const struct btf *targ_btf, const char *targ_btf_name, int targ_start_id,
		      struct bpf_core_cand_list *cands)
{
	const struct btf_type *local_t = btf__type_by_id(local_cand->btf, local_cand->id);
	const struct cand_index *ix = kind_indexed(local_t) ? vk_target_index(targ_btf) : NULL;
	const char *local_name = btf__str_by_offset(local_cand->btf, local_t->name_off);
	const struct bucket *b = NULL;
	uint32_t k, n;

	/* an indexed target: the ids with this essential name; otherwise (libbpf's own
	 * search, which this definition replaces) every id */
	if (ix) {
		b = lookup(ix, local_name, local_essent_len, hash_name(local_name, local_essent_len));
		n = b->name ? b->n : 0;
	} else {
		n = btf__type_cnt(targ_btf);
	}
	for (k = ix ? 0 : (uint32_t)targ_start_id; k < n; k++) {
		uint32_t i = ix ? b->ids[k] : k;
		const struct btf_type *t;
		struct bpf_core_cand *nc;

		if ((int)i < targ_start_id)
			continue;
		t = btf__type_by_id(targ_btf, i);
		if (!btf_kind_core_compat(t, local_t))
			continue;
		if (!ix) {
			const char *targ_name = btf__name_by_offset(targ_btf, t->name_off);

			if (!targ_name || !*targ_name || bpf_core_essential_name_len(targ_name) != local_essent_len ||
			    strncmp(local_name, targ_name, local_essent_len) != 0)
				continue;
		}
		pr_debug("CO-RE relocating [%d] %s %s: found target candidate [%d] %s %s in [%s]\n",
			 local_cand->id, btf_kind_str(local_t), local_name, i, btf_kind_str(t),
			 btf__name_by_offset(targ_btf, t->name_off), targ_btf_name);
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
