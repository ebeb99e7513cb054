#ifndef COREBPF_CAND_INDEX_H
#define COREBPF_CAND_INDEX_H

struct btf;
struct cand_index;

struct cand_index *cand_index_build(const struct btf *btf);
void cand_index_free(struct cand_index *ix);
/* the index of a registered target BTF, or NULL (target.c) */
const struct cand_index *vk_target_index(const struct btf *btf);

#endif
