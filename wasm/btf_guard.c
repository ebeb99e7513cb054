/* Checks of BTF (an object's, a target's) for shapes that break libbpf before it reads them.
 *
 * libbpf follows chains of modifiers and typedefs (skip_mods_and_typedefs, in CO-RE spec
 * parsing and candidate matching) with no bound: a BTF whose chain loops back on itself
 * (typedef A -> const B -> typedef A) spins forever — in a worker that then never answers
 * (found by fuzz/fuzz_reloc.c, input fuzz/regressions/reloc/core-spec-typedef-loop). btf__new
 * does not look for such cycles and a kernel refuses them at BTF_BTF_LOAD, so an object's or
 * a target's BTF with one is refused here, before libbpf walks it. */
#include <stdint.h>
#include <stdlib.h>

#include "btf.h"
#include "libbpf.h"
#include "libbpf_internal.h"

#include "btf_guard.h"

/* the first type id on a modifier/typedef cycle, 0 when there is none, -1 out of memory */
long vk_btf_mods_cycle(const struct btf *btf)
{
	uint32_t n = btf__type_cnt(btf), id, cur, steps;
	uint8_t *state = calloc(n, 1); /* 0 unseen, 1 on the walk in progress, 2 ends well */
	long found = 0;

	if (!state)
		return -1;
	for (id = 1; id < n && !found; id++) {
		/* walk the chain from id, marking it; it ends at a non-modifier, at a type already
		 * known to end well, or back on itself */
		for (cur = id, steps = 0; cur && cur < n && state[cur] == 0; steps++) {
			const struct btf_type *t = btf__type_by_id(btf, cur);

			if (!btf_is_mod(t) && !btf_is_typedef(t))
				break;
			state[cur] = 1;
			cur = t->type;
		}
		if (cur && cur < n && state[cur] == 1) {
			found = cur;
			break;
		}
		/* everything marked on this walk ends well */
		for (cur = id; cur && cur < n && state[cur] == 1; cur = btf__type_by_id(btf, cur)->type)
			state[cur] = 2;
	}
	free(state);
	return found;
}

/* libbpf's CO-RE field relocation divides a bitfield's bit offset by the size of the
 * member's type (relo_core.c bpf_core_calc_field_relo): a bitfield member of a type of size
 * 0 is a division by zero, a trap in the wasm (found by fuzz/fuzz_reloc.c, regression input
 * fuzz/regressions/reloc/bitfield-zero-size-type). The kernel accepts bitfields only of
 * integer and enum types; any other, or one of size 0, is refused here. Run after
 * vk_btf_mods_cycle() found no cycle. Returns the struct/union's type id, or 0. */
long vk_btf_bad_bitfield(const struct btf *btf)
{
	uint32_t n = btf__type_cnt(btf), id;
	int i;

	for (id = 1; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		const struct btf_member *m;

		if (!btf_is_composite(t) || !btf_kflag(t))
			continue;
		for (i = 0, m = btf_members(t); i < btf_vlen(t); i++, m++) {
			const struct btf_type *mt;

			if (!btf_member_bitfield_size(t, i))
				continue;
			mt = btf__type_by_id(btf, m->type);
			while (mt && (btf_is_mod(mt) || btf_is_typedef(mt)))
				mt = btf__type_by_id(btf, mt->type);
			if (!mt || !(btf_is_int(mt) || btf_is_any_enum(mt)) || mt->size == 0)
				return id;
		}
	}
	return 0;
}

/* libbpf copies a struct_ops map's variable (type->size bytes) and then reads each member at
 * its offset, for its size (bpf_map__init_kern_struct_ops: libbpf_is_mem_zeroed, the
 * program pointer, memcpy), without checking that the member lies inside the struct: an
 * object whose BTF puts one past the end reads past the copy (found by fuzz/fuzz_reloc.c,
 * regression input fuzz/regressions/reloc/struct-ops-member-past-end). A compiler never
 * emits such a struct and the kernel refuses it at BPF_BTF_LOAD; it is refused here, before
 * bpf_object__load. Bitfield members are left to libbpf, which refuses them before reading.
 * Returns the struct's type id, or 0. */
long vk_struct_ops_bad_member(const struct bpf_object *obj)
{
	const struct btf *btf = bpf_object__btf(obj);
	const struct bpf_map *map;
	int i;

	if (!btf)
		return 0;
	bpf_object__for_each_map(map, obj) {
		const struct btf_type *t;
		const struct btf_member *m;
		uint32_t id = bpf_map__btf_value_type_id(map);

		if (bpf_map__type(map) != BPF_MAP_TYPE_STRUCT_OPS || !id)
			continue;
		t = btf__type_by_id(btf, id);
		if (!t || !btf_is_composite(t))
			continue;
		for (i = 0, m = btf_members(t); i < btf_vlen(t); i++, m++) {
			long long size;

			if (btf_member_bitfield_size(t, i))
				continue;
			size = btf__resolve_size(btf, m->type);
			if (size >= 0 && (unsigned long long)btf_member_bit_offset(t, i) / 8 + size > t->size)
				return id;
		}
	}
	return 0;
}
