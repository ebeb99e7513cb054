/* libbpf.c compiled as part of this translation unit (it is not compiled on its own), so
 * that the virtual kernel can reach one private field of struct bpf_object.
 *
 * libbpf converts a non-native (e.g. big-endian) object's instructions and BTF to host
 * order at open, and then refuses to load it: a real kernel of the host's byte order
 * could not run it. The virtual kernel stands in for a kernel of the *object's* byte
 * order (an s390x target, say), so it lets the load proceed and writes the plan back in
 * the object's byte order (plan_endian.c). */
#include "libbpf.c"

/* byte order of the object's ELF file: ELFDATA2LSB or ELFDATA2MSB */
int vk_object_byteorder(const struct bpf_object *obj)
{
	return obj->byteorder;
}

/* let bpf_object__load() run on a non-native object (after open converted it) */
void vk_object_claim_native(struct bpf_object *obj)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	obj->byteorder = ELFDATA2LSB;
#else
	obj->byteorder = ELFDATA2MSB;
#endif
}

/* libbpf 1.5's bpf_object__relocate_core() returns -EINVAL on a CO-RE record whose
 * instruction offset is not a multiple of 8 or lies past its program without freeing its
 * candidate cache (two bare `return -EINVAL;` skip the `out:` label): a hostile object
 * leaked the cache on every load, in a worker that lives on (found by fuzz/fuzz_reloc.c,
 * regression input fuzz/regressions/reloc/). Check the same two conditions, in libbpf's
 * order and with its skips, before the load; the load then fails the same way, with
 * libbpf's message, and nothing leaks. */
int vk_core_relos_check(const struct bpf_object *obj)
{
	const struct btf_ext_info_sec *sec;
	const struct bpf_core_relo *rec;
	const struct btf_ext_info *seg;
	struct bpf_program *prog;
	int i, insn_idx, sec_idx, sec_num = 0;

	if (!obj->btf_ext || obj->btf_ext->core_relo_info.len == 0)
		return 0;
	seg = &obj->btf_ext->core_relo_info;
	for_each_btf_ext_sec(seg, sec) {
		sec_idx = seg->sec_idxs[sec_num];
		sec_num++;
		if (str_is_empty(btf__name_by_offset(obj->btf, sec->sec_name_off)))
			return 0; /* libbpf fails this one itself, without leaking */
		for_each_btf_ext_rec(seg, sec, i, rec) {
			if (rec->insn_off % BPF_INSN_SZ)
				goto bad;
			insn_idx = rec->insn_off / BPF_INSN_SZ;
			prog = find_prog_by_sec_insn(obj, sec_idx, insn_idx);
			if (!prog || !prog->autoload)
				continue;
			if (insn_idx - prog->sec_insn_off >= prog->insns_cnt)
				goto bad;
		}
	}
	return 0;
bad:
	pr_warn("sec '%s': CO-RE relocation #%d points outside its program (insn_off %u)\n",
		btf__name_by_offset(obj->btf, sec->sec_name_off), i, rec->insn_off);
	return -EINVAL;
}

/* libbpf 1.5 checks that a relocated instruction lies inside its program, but not that an
 * ld_imm64 (two instruction slots) named by a relocation has its second slot:
 * bpf_object__relocate_data() then writes insn[1].imm past the end of the program's
 * instructions (a heap overflow; found by fuzz/fuzz_reloc.c, regression input
 * fuzz/regressions/reloc/ldimm64-last-insn-overflow). Refuse such an object before the load,
 * with a libbpf-style message. */
int vk_prog_relos_check(const struct bpf_object *obj)
{
	int i, j;

	for (i = 0; i < obj->nr_programs; i++) {
		const struct bpf_program *prog = &obj->programs[i];

		for (j = 0; j < prog->nr_reloc; j++) {
			const struct reloc_desc *r = &prog->reloc_desc[j];

			if (r->insn_idx < 0 || (size_t)r->insn_idx >= prog->insns_cnt)
				goto bad;
			if (is_ldimm64_insn((struct bpf_insn *)&prog->insns[r->insn_idx]) && (size_t)r->insn_idx + 1 >= prog->insns_cnt)
				goto bad;
			continue;
bad:
			pr_warn("prog '%s': relocation #%d names instruction %d, whose ld_imm64 runs past the program's %zu instructions\n",
				prog->name, j, r->insn_idx, prog->insns_cnt);
			return -EINVAL;
		}
	}
	return 0;
}

/* A struct_ops map's value as bpf_map__attach_struct_ops() hands it to the kernel
 * (st_ops->kern_vdata, laid out as the kernel's bpf_struct_ops_<name>, program fds written
 * by bpf_object_prepare_struct_ops() at load), or NULL for any other map. libbpf keeps it
 * private and writes it only at attach, which the plan leaves to the host (plan_map.c). */
const void *vk_struct_ops_value(const struct bpf_map *map, uint32_t *size)
{
	if (!bpf_map__is_struct_ops(map) || !map->st_ops->kern_vdata)
		return NULL;
	*size = map->def.value_size;
	return map->st_ops->kern_vdata;
}

/* the object's struct's member count: the slots vk_struct_ops_slot() takes */
uint32_t vk_struct_ops_nr_slots(const struct bpf_map *map)
{
	return btf_vlen(btf__type_by_id(map->obj->btf, map->st_ops->type_id));
}

/* slot i's program (NULL: no program there) and its offset in the kernel value */
const struct bpf_program *vk_struct_ops_slot(const struct bpf_map *map, uint32_t i, uint32_t *off)
{
	*off = map->st_ops->kern_func_off[i];
	return map->st_ops->progs[i];
}
