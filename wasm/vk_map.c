/* Maps in the virtual kernel: BPF_MAP_CREATE and BPF_MAP_UPDATE_ELEM recorded, with the
 * checks a kernel makes before libbpf's data reaches a record. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/bpf.h>

#include "vk_internal.h"

/* Sizes every kernel refuses at BPF_MAP_CREATE (the map types' alloc checks): a map left
 * for user space to size (max_entries 0) then fails here, offline, with libbpf's own
 * "failed to create" message, as it would on a kernel. The key and value sizes matter
 * beyond that: libbpf fills prog-array and map-in-map slots, global data and struct_ops
 * maps with bpf_map_update_elem() from a 4-byte int key (and fd value), and
 * vk_map_update() copies the map's own key_size and value_size bytes from them. */
static bool map_sizes_invalid(const union bpf_attr *a)
{
	switch (a->map_type) {
	case BPF_MAP_TYPE_HASH:
	case BPF_MAP_TYPE_PERCPU_HASH:
	case BPF_MAP_TYPE_LRU_HASH:
	case BPF_MAP_TYPE_LRU_PERCPU_HASH:
		return !a->max_entries || !a->key_size || !a->value_size;
	case BPF_MAP_TYPE_ARRAY: /* array_map_alloc_check */
	case BPF_MAP_TYPE_PERCPU_ARRAY:
		return !a->max_entries || a->key_size != 4 || !a->value_size;
	case BPF_MAP_TYPE_PROG_ARRAY: /* fd_array_map_alloc_check: fds in 4-byte slots */
	case BPF_MAP_TYPE_PERF_EVENT_ARRAY:
	case BPF_MAP_TYPE_CGROUP_ARRAY:
	case BPF_MAP_TYPE_ARRAY_OF_MAPS:
		return !a->max_entries || a->key_size != 4 || a->value_size != 4;
	case BPF_MAP_TYPE_HASH_OF_MAPS: /* fd_htab_map_alloc_check */
		return !a->max_entries || !a->key_size || a->value_size != 4;
	case BPF_MAP_TYPE_STRUCT_OPS: /* bpf_struct_ops_map_alloc_check */
		return a->key_size != 4 || a->max_entries != 1;
	case BPF_MAP_TYPE_QUEUE:
	case BPF_MAP_TYPE_STACK:
		return !a->max_entries;
	default:
		return false;
	}
}

long vk_map_create(union bpf_attr *a)
{
	struct vk_map_rec *m;
	int fd;

	if (map_sizes_invalid(a))
		return vk_fail(EINVAL);
	/* a struct_ops type of a kernel module (value_type_btf_obj_fd): the plan has no way
	 * to name that module's BTF object for the map yet. BPF_F_VTYPE_BTF_OBJ_FD (6.9's
	 * UAPI) by value: the stock oracle compiles this file with an older system header. */
	if (a->map_flags & (1U << 15))
		return vk_fail(EOPNOTSUPP);
	if (VK_GROW(vk.maps, vk.nr_maps))
		return vk_fail(ENOMEM);
	m = &vk.maps[vk.nr_maps];
	m->map_type = a->map_type;
	m->key_size = a->key_size;
	m->value_size = a->value_size;
	m->max_entries = a->max_entries;
	m->map_flags = a->map_flags;
	m->numa_node = a->numa_node;
	m->map_ifindex = a->map_ifindex;
	m->btf_key_type_id = a->btf_key_type_id;
	m->btf_value_type_id = a->btf_value_type_id;
	m->btf_vmlinux_value_type_id = a->btf_vmlinux_value_type_id;
	m->map_extra = a->map_extra;
	memcpy(m->name, a->map_name, sizeof(m->name));
	m->name[sizeof(m->name) - 1] = 0;
	m->btf = a->btf_fd ? vk_fd_lookup(a->btf_fd, VK_BTF) : -1;
	m->inner_map = a->inner_map_fd ? vk_fd_lookup(a->inner_map_fd, VK_MAP) : -1;
	if ((a->btf_fd && m->btf < 0) || (a->inner_map_fd && m->inner_map < 0))
		return vk_fail(EBADF);
	fd = vk_fd_new(VK_MAP, vk.nr_maps);
	if (fd < 0)
		return -1;
	vk.nr_maps++;
	return fd;
}

static bool map_holds_fds(uint32_t type)
{
	return type == BPF_MAP_TYPE_PROG_ARRAY || type == BPF_MAP_TYPE_ARRAY_OF_MAPS ||
	       type == BPF_MAP_TYPE_HASH_OF_MAPS;
}

long vk_map_update(union bpf_attr *a)
{
	int mi = vk_fd_lookup(a->map_fd, VK_MAP);
	struct vk_map_rec *m;
	struct vk_update *u;

	if (mi < 0)
		return vk_fail(EBADF);
	m = &vk.maps[mi];
	if (VK_GROW(m->updates, m->nr_updates))
		return vk_fail(ENOMEM);
	u = &m->updates[m->nr_updates];
	u->flags = a->flags;
	if (vk_buf_copy(&u->key, a->key, m->key_size))
		return vk_fail(ENOMEM);
	if (map_holds_fds(m->map_type)) {
		int fd = *(const int *)(uintptr_t)a->value;

		u->ref_kind = m->map_type == BPF_MAP_TYPE_PROG_ARRAY ? VK_PROG : VK_MAP;
		u->ref = vk_fd_lookup(fd, u->ref_kind);
		if (u->ref < 0) {
			vk_buf_free(&u->key);
			return vk_fail(EBADF);
		}
	} else if (vk_buf_copy(&u->value, a->value, m->value_size)) {
		/* the update is not counted: vk_reset() would not free its key */
		vk_buf_free(&u->key);
		return vk_fail(ENOMEM);
	}
	m->nr_updates++;
	return 0;
}
