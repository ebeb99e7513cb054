#ifndef COREBPF_BTF_GUARD_H
#define COREBPF_BTF_GUARD_H

struct btf;
struct bpf_object;

/* the first type id on a cycle of modifiers/typedefs, 0 when there is none, -1 out of memory */
long vk_btf_mods_cycle(const struct btf *btf);

/* a struct/union with a bitfield member of a non-integer or zero-size type, or 0 */
long vk_btf_bad_bitfield(const struct btf *btf);

/* a struct_ops map's struct with a member past its end, or 0 */
long vk_struct_ops_bad_member(const struct bpf_object *obj);

#endif
