/* BTF objects in the virtual kernel: BPF_BTF_LOAD recorded, and the kernel's own BTF
 * objects libbpf looks up (modules' BTF given as input, target programs' BTF of
 * target_prog.c) by id, by fd and with BPF_OBJ_GET_INFO_BY_FD. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/bpf.h>

#include "vk_internal.h"

long vk_btf_load(union bpf_attr *a)
{
	struct vk_btf_rec *r;
	int fd;

	if (VK_GROW(vk.btfs, vk.nr_btfs))
		return vk_fail(ENOMEM);
	r = &vk.btfs[vk.nr_btfs];
	if (vk_buf_copy(&r->data, a->btf, a->btf_size))
		return vk_fail(ENOMEM);
	fd = vk_fd_new(VK_BTF, vk.nr_btfs);
	if (fd < 0)
		return -1;
	vk.nr_btfs++;
	return fd;
}

/* module BTFs given as input (modbtf.c): kept across runs, unlike the records */
static struct vk_modbtf *mods;
static int nr_mods;

void vk_modbtf_clear(void)
{
	int i;

	for (i = 0; i < nr_mods; i++)
		free(mods[i].data);
	free(mods);
	mods = NULL;
	nr_mods = 0;
}

int vk_modbtf_add(const char *name, void *data, size_t len)
{
	struct vk_modbtf *m = realloc(mods, sizeof(*mods) * (nr_mods + 1));

	if (!m) {
		free(data);
		return -1;
	}
	mods = m;
	m = &mods[nr_mods];
	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "%s", name ? name : "");
	m->data = data;
	m->len = (uint32_t)len;
	return VK_MODBTF_FIRST_ID + nr_mods++;
}

int vk_nr_modbtfs(void)
{
	return nr_mods;
}

const struct vk_modbtf *vk_modbtf_get(int i)
{
	return i >= 0 && i < nr_mods ? &mods[i] : NULL;
}

/* load_module_btfs(): the next module BTF id after start_id */
long vk_btf_get_next_id(union bpf_attr *a, union bpf_attr *uattr)
{
	int i;

	for (i = 0; i < vk_nr_modbtfs(); i++) {
		if ((uint32_t)(VK_MODBTF_FIRST_ID + i) > a->start_id) {
			uattr->next_id = VK_MODBTF_FIRST_ID + i;
			return 0;
		}
	}
	return vk_fail(ENOENT);
}

/* BPF_OBJ_GET_INFO_BY_FD on a BTF object fd, with the kernel's semantics: the BTF bytes
 * copied up to the caller's btf_size (which is set to the real size), the name up to
 * name_len (ENOSPC when it did not fit) */
static long btf_obj_info(union bpf_attr *a, union bpf_attr *uattr, const uint8_t *data, uint32_t size,
			 uint32_t id, const char *name, bool kernel_btf)
{
	struct bpf_btf_info info;
	uint32_t len = a->info.info_len < sizeof(info) ? a->info.info_len : sizeof(info);
	size_t name_len;
	int err = 0;

	if (!a->info.info)
		return vk_fail(EFAULT);
	memset(&info, 0, sizeof(info));
	memcpy(&info, (void *)(uintptr_t)a->info.info, len);
	if (info.btf && info.btf_size)
		memcpy((void *)(uintptr_t)info.btf, data, info.btf_size < size ? info.btf_size : size);
	info.btf_size = size;
	info.id = id;
	info.kernel_btf = kernel_btf;
	name_len = strlen(name);
	if (info.name && info.name_len) {
		char *dst = (char *)(uintptr_t)info.name;

		if (info.name_len >= name_len + 1) {
			memcpy(dst, name, name_len + 1);
		} else {
			memcpy(dst, name, info.name_len - 1);
			dst[info.name_len - 1] = 0;
			err = ENOSPC;
		}
	}
	info.name_len = (uint32_t)name_len;
	memcpy((void *)(uintptr_t)a->info.info, &info, len);
	uattr->info.info_len = len;
	return err ? vk_fail(err) : 0;
}

/* BPF_OBJ_GET_INFO_BY_FD on a target program: what libbpf_find_prog_btf_id() reads, the
 * id of the program's BTF object */
static long tprog_info(union bpf_attr *a, union bpf_attr *uattr, int slot)
{
	struct bpf_prog_info info;
	uint32_t len = a->info.info_len < sizeof(info) ? a->info.info_len : sizeof(info);

	if (!a->info.info)
		return vk_fail(EFAULT);
	memset(&info, 0, sizeof(info));
	info.btf_id = VK_TPROG_BTF_FIRST_ID + (uint32_t)slot;
	memcpy((void *)(uintptr_t)a->info.info, &info, len);
	uattr->info.info_len = len;
	return 0;
}

long vk_obj_get_info(union bpf_attr *a, union bpf_attr *uattr)
{
	const struct vk_modbtf *m;
	const struct vk_buf *b;
	int rec;

	switch (vk_fd_kind(a->info.bpf_fd)) {
	case VK_MODBTF:
		rec = vk_fd_lookup(a->info.bpf_fd, VK_MODBTF);
		m = vk_modbtf_get(rec);
		return btf_obj_info(a, uattr, m->data, m->len, VK_MODBTF_FIRST_ID + rec, m->name, true);
	case VK_TPROG:
		return tprog_info(a, uattr, vk_fd_lookup(a->info.bpf_fd, VK_TPROG));
	case VK_TPROG_BTF:
		rec = vk_fd_lookup(a->info.bpf_fd, VK_TPROG_BTF);
		b = vk_tprog_btf(rec);
		return btf_obj_info(a, uattr, b->data, b->len, VK_TPROG_BTF_FIRST_ID + rec, "", false);
	default:
		return vk_fail(EOPNOTSUPP);
	}
}

long vk_btf_get_fd_by_id(uint32_t id)
{
	if (id >= VK_MODBTF_FIRST_ID && id < (uint32_t)(VK_MODBTF_FIRST_ID + vk_nr_modbtfs()))
		return vk_fd_new(VK_MODBTF, id - VK_MODBTF_FIRST_ID);
	if (id >= VK_TPROG_BTF_FIRST_ID && id < VK_TPROG_BTF_FIRST_ID + (uint32_t)vk_nr_tprogs())
		return vk_fd_new(VK_TPROG_BTF, id - VK_TPROG_BTF_FIRST_ID);
	return vk_fail(ENOENT);
}
