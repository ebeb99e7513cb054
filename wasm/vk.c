/* The virtual kernel: libbpf's redirected syscalls and host queries (see vk_redirect.h).
 * Compiled without the redirections, so the real libc functions are reachable here. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <zlib.h>
#include <linux/bpf.h>

#include "vk.h"

#include "vk_nr.h"

struct vk_state vk;

static void buf_free(struct vk_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
}

void vk_reset(void)
{
	int i;
	uint32_t j;

	for (i = 0; i < vk.nr_btfs; i++)
		buf_free(&vk.btfs[i].data);
	for (i = 0; i < vk.nr_maps; i++) {
		for (j = 0; j < vk.maps[i].nr_updates; j++) {
			buf_free(&vk.maps[i].updates[j].key);
			buf_free(&vk.maps[i].updates[j].value);
		}
		free(vk.maps[i].updates);
	}
	for (i = 0; i < vk.nr_progs; i++) {
		struct vk_prog_rec *p = &vk.progs[i];

		free(p->license);
		buf_free(&p->insns);
		buf_free(&p->func_info);
		buf_free(&p->line_info);
		free(p->refs);
		free(p->fd_array);
		free(p->fd_array_kind);
		free(p->bound_maps);
	}
	free(vk.btfs);
	free(vk.maps);
	free(vk.progs);
	memset(&vk, 0, sizeof(vk));
	vk.next_fd = VK_FD_BASE;
	vk.page_size = 4096;
	strcpy(vk.machine, "x86_64");
}

static bool is_fake(int fd)
{
	return fd >= VK_FD_BASE && fd < VK_FD_BASE + VK_MAX_FDS;
}

enum vk_kind vk_fd_kind(int fd)
{
	return is_fake(fd) ? vk.fd_kind[fd - VK_FD_BASE] : VK_NONE;
}

int vk_fd_lookup(int fd, enum vk_kind kind)
{
	if (!is_fake(fd) || vk.fd_kind[fd - VK_FD_BASE] != kind)
		return -1;
	return vk.fd_rec[fd - VK_FD_BASE];
}

int vk_fd_new(enum vk_kind kind, int rec)
{
	int i;

	/* lowest free slot, like a kernel; deterministic because libbpf's order is */
	for (i = 0; i < VK_MAX_FDS; i++) {
		if (vk.fd_kind[i] == VK_NONE) {
			vk.fd_kind[i] = kind;
			vk.fd_rec[i] = rec;
			return VK_FD_BASE + i;
		}
	}
	errno = EMFILE;
	return -1;
}

static int copy_buf(struct vk_buf *dst, uint64_t ptr, uint64_t len)
{
	dst->len = (uint32_t)len;
	dst->data = NULL;
	if (!len)
		return 0;
	dst->data = malloc(len);
	if (!dst->data)
		return -ENOMEM;
	memcpy(dst->data, (const void *)(uintptr_t)ptr, len);
	return 0;
}

#define GROW(arr, n) \
	((arr) = realloc((arr), sizeof(*(arr)) * ((n) + 1)), (arr) ? memset(&(arr)[(n)], 0, sizeof(*(arr))), 0 : -ENOMEM)

static long fail(int err)
{
	errno = err;
	return -1;
}

static long bpf_btf_load(union bpf_attr *a)
{
	struct vk_btf_rec *r;
	int fd;

	if (GROW(vk.btfs, vk.nr_btfs))
		return fail(ENOMEM);
	r = &vk.btfs[vk.nr_btfs];
	if (copy_buf(&r->data, a->btf, a->btf_size))
		return fail(ENOMEM);
	fd = vk_fd_new(VK_BTF, vk.nr_btfs);
	if (fd < 0)
		return -1;
	vk.nr_btfs++;
	return fd;
}

/* Sizes every kernel refuses at BPF_MAP_CREATE (the map types' alloc checks): a map left
 * for user space to size (max_entries 0) then fails here, offline, with libbpf's own
 * "failed to create" message, as it would on a kernel. The key and value sizes matter
 * beyond that: libbpf fills prog-array and map-in-map slots, global data and struct_ops
 * maps with bpf_map_update_elem() from a 4-byte int key (and fd value), and
 * bpf_map_update() copies the map's own key_size and value_size bytes from them. */
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

static long bpf_map_create(union bpf_attr *a)
{
	struct vk_map_rec *m;
	int fd;

	if (map_sizes_invalid(a))
		return fail(EINVAL);
	/* a struct_ops type of a kernel module (value_type_btf_obj_fd): the plan has no way
	 * to name that module's BTF object for the map yet. BPF_F_VTYPE_BTF_OBJ_FD (6.9's
	 * UAPI) by value: the stock oracle compiles this file with an older system header. */
	if (a->map_flags & (1U << 15))
		return fail(EOPNOTSUPP);
	if (GROW(vk.maps, vk.nr_maps))
		return fail(ENOMEM);
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
		return fail(EBADF);
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

static long bpf_map_update(union bpf_attr *a)
{
	int mi = vk_fd_lookup(a->map_fd, VK_MAP);
	struct vk_map_rec *m;
	struct vk_update *u;

	if (mi < 0)
		return fail(EBADF);
	m = &vk.maps[mi];
	if (GROW(m->updates, m->nr_updates))
		return fail(ENOMEM);
	u = &m->updates[m->nr_updates];
	u->flags = a->flags;
	if (copy_buf(&u->key, a->key, m->key_size))
		return fail(ENOMEM);
	if (map_holds_fds(m->map_type)) {
		int fd = *(const int *)(uintptr_t)a->value;

		u->ref_kind = m->map_type == BPF_MAP_TYPE_PROG_ARRAY ? VK_PROG : VK_MAP;
		u->ref = vk_fd_lookup(fd, u->ref_kind);
		if (u->ref < 0) {
			buf_free(&u->key);
			return fail(EBADF);
		}
	} else if (copy_buf(&u->value, a->value, m->value_size)) {
		/* the update is not counted: vk_reset() would not free its key */
		buf_free(&u->key);
		return fail(ENOMEM);
	}
	m->nr_updates++;
	return 0;
}

static int add_ref(struct vk_prog_rec *p, uint32_t insn, int fd, bool imm2)
{
	enum vk_kind kind = vk_fd_kind(fd);

	if (kind != VK_MAP && kind != VK_BTF && kind != VK_MODBTF)
		return -EBADF;
	if (GROW(p->refs, p->nr_refs))
		return -ENOMEM;
	p->refs[p->nr_refs].insn = insn;
	p->refs[p->nr_refs].kind = kind;
	p->refs[p->nr_refs].ref = vk_fd_lookup(fd, kind);
	p->refs[p->nr_refs].imm2 = imm2;
	p->nr_refs++;
	return 0;
}

/* map and BTF object fds embedded in ld_imm64 instructions become record references */
static int scan_insn_fds(struct vk_prog_rec *p)
{
	const struct bpf_insn *insn = (const struct bpf_insn *)p->insns.data;
	uint32_t i, n = p->insns.len / sizeof(*insn);
	int err;

	for (i = 0; i + 1 < n; i++) {
		if (insn[i].code != (BPF_LD | BPF_IMM | BPF_DW))
			continue;
		switch (insn[i].src_reg) {
		case BPF_PSEUDO_MAP_FD:
		case BPF_PSEUDO_MAP_VALUE:
			if ((err = add_ref(p, i, insn[i].imm, false)))
				return err;
			break;
		case BPF_PSEUDO_BTF_ID:
			/* typed ksym: second imm is a module BTF fd, 0 for vmlinux */
			if (insn[i + 1].imm && (err = add_ref(p, i, insn[i + 1].imm, true)))
				return err;
			break;
		}
		i++;
	}
	return 0;
}

static long bpf_prog_load(union bpf_attr *a)
{
	struct vk_prog_rec *p;
	const char *lic = (const char *)(uintptr_t)a->license;
	uint32_t i;
	int fd;

	if (GROW(vk.progs, vk.nr_progs))
		return fail(ENOMEM);
	p = &vk.progs[vk.nr_progs];
	p->prog_type = a->prog_type;
	p->expected_attach_type = a->expected_attach_type;
	p->prog_flags = a->prog_flags;
	p->kern_version = a->kern_version;
	p->attach_btf_id = a->attach_btf_id;
	p->prog_ifindex = a->prog_ifindex;
	memcpy(p->name, a->prog_name, sizeof(p->name));
	p->name[sizeof(p->name) - 1] = 0;
	p->license = strdup(lic ? lic : "");
	p->btf = a->prog_btf_fd ? vk_fd_lookup(a->prog_btf_fd, VK_BTF) : -1;
	p->attach_btf_obj = -1;
	p->attach_prog = -1;
	p->attach_btf_mod = -1;
	p->attach_tprog = -1;
	/* attach_prog_fd and attach_btf_obj_fd share a union: the fd's kind tells which */
	switch (vk_fd_kind(a->attach_prog_fd)) {
	case VK_MODBTF:
		p->attach_btf_mod = vk_fd_lookup(a->attach_btf_obj_fd, VK_MODBTF);
		break;
	case VK_BTF:
		p->attach_btf_obj = vk_fd_lookup(a->attach_btf_obj_fd, VK_BTF);
		break;
	case VK_TPROG:
		p->attach_tprog = vk_fd_lookup(a->attach_prog_fd, VK_TPROG);
		break;
	case VK_PROG:
		p->attach_prog = vk_fd_lookup(a->attach_prog_fd, VK_PROG);
		break;
	default:
		break;
	}
	p->func_info_rec_size = a->func_info_rec_size;
	p->line_info_rec_size = a->line_info_rec_size;
	if (copy_buf(&p->insns, a->insns, (uint64_t)a->insn_cnt * sizeof(struct bpf_insn)) ||
	    copy_buf(&p->func_info, a->func_info, (uint64_t)a->func_info_cnt * a->func_info_rec_size) ||
	    copy_buf(&p->line_info, a->line_info, (uint64_t)a->line_info_cnt * a->line_info_rec_size))
		return fail(ENOMEM);
	if (scan_insn_fds(p))
		return fail(EBADF);
	if (a->fd_array) {
		/* fd_array has no count in this UAPI; libbpf fills it for kfunc/ksym module
		 * BTFs and the instructions index it: record slots up to the largest index used */
		const int *fds = (const int *)(uintptr_t)a->fd_array;
		const struct bpf_insn *insn = (const struct bpf_insn *)p->insns.data;
		uint32_t n = p->insns.len / sizeof(*insn), max = 0;

		for (i = 0; i < n; i++)
			if (insn[i].code == (BPF_JMP | BPF_CALL) && insn[i].src_reg == BPF_PSEUDO_KFUNC_CALL &&
			    insn[i].off > 0 && (uint32_t)insn[i].off + 1 > max)
				max = insn[i].off + 1;
		p->fd_array_cnt = max;
		p->fd_array = calloc(max ? max : 1, sizeof(int));
		p->fd_array_kind = calloc(max ? max : 1, sizeof(enum vk_kind));
		for (i = 0; i < max; i++) {
			p->fd_array_kind[i] = vk_fd_kind(fds[i]);
			p->fd_array[i] = p->fd_array_kind[i] ? vk_fd_lookup(fds[i], p->fd_array_kind[i]) : -1;
		}
	}
	fd = vk_fd_new(VK_PROG, vk.nr_progs);
	if (fd < 0)
		return -1;
	vk.nr_progs++;
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
static long btf_get_next_id(union bpf_attr *a, union bpf_attr *uattr)
{
	int i;

	for (i = 0; i < vk_nr_modbtfs(); i++) {
		if ((uint32_t)(VK_MODBTF_FIRST_ID + i) > a->start_id) {
			uattr->next_id = VK_MODBTF_FIRST_ID + i;
			return 0;
		}
	}
	return fail(ENOENT);
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
		return fail(EFAULT);
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
	return err ? fail(err) : 0;
}

/* BPF_OBJ_GET_INFO_BY_FD on a target program: what libbpf_find_prog_btf_id() reads, the
 * id of the program's BTF object */
static long tprog_info(union bpf_attr *a, union bpf_attr *uattr, int slot)
{
	struct bpf_prog_info info;
	uint32_t len = a->info.info_len < sizeof(info) ? a->info.info_len : sizeof(info);

	if (!a->info.info)
		return fail(EFAULT);
	memset(&info, 0, sizeof(info));
	info.btf_id = VK_TPROG_BTF_FIRST_ID + (uint32_t)slot;
	memcpy((void *)(uintptr_t)a->info.info, &info, len);
	uattr->info.info_len = len;
	return 0;
}

static long obj_get_info(union bpf_attr *a, union bpf_attr *uattr)
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
		return fail(EOPNOTSUPP);
	}
}

static long btf_get_fd_by_id(uint32_t id)
{
	if (id >= VK_MODBTF_FIRST_ID && id < (uint32_t)(VK_MODBTF_FIRST_ID + vk_nr_modbtfs()))
		return vk_fd_new(VK_MODBTF, id - VK_MODBTF_FIRST_ID);
	if (id >= VK_TPROG_BTF_FIRST_ID && id < VK_TPROG_BTF_FIRST_ID + (uint32_t)vk_nr_tprogs())
		return vk_fd_new(VK_TPROG_BTF, id - VK_TPROG_BTF_FIRST_ID);
	return fail(ENOENT);
}

static long vk_bpf(int cmd, union bpf_attr *uattr, unsigned int size)
{
	union bpf_attr a;
	int mi, pi;

	memset(&a, 0, sizeof(a));
	memcpy(&a, uattr, size < sizeof(a) ? size : sizeof(a));
	vk.nr_syscalls++;

	switch (cmd) {
	case BPF_BTF_LOAD:
		return bpf_btf_load(&a);
	case BPF_MAP_CREATE:
		return bpf_map_create(&a);
	case BPF_MAP_UPDATE_ELEM:
		return bpf_map_update(&a);
	case BPF_MAP_FREEZE:
		mi = vk_fd_lookup(a.map_fd, VK_MAP);
		if (mi < 0)
			return fail(EBADF);
		vk.maps[mi].frozen = true;
		return 0;
	case BPF_PROG_LOAD:
		return bpf_prog_load(&a);
	case BPF_PROG_BIND_MAP:
		pi = vk_fd_lookup(a.prog_bind_map.prog_fd, VK_PROG);
		mi = vk_fd_lookup(a.prog_bind_map.map_fd, VK_MAP);
		if (pi < 0 || mi < 0)
			return fail(EBADF);
		if (GROW(vk.progs[pi].bound_maps, vk.progs[pi].nr_bound_maps))
			return fail(ENOMEM);
		vk.progs[pi].bound_maps[vk.progs[pi].nr_bound_maps++] = mi;
		return 0;
	case BPF_BTF_GET_NEXT_ID:
		return btf_get_next_id(&a, uattr);
	case BPF_BTF_GET_FD_BY_ID:
		return btf_get_fd_by_id(a.btf_id);
	case BPF_OBJ_GET_INFO_BY_FD:
		return obj_get_info(&a, uattr);
	case BPF_OBJ_GET:
		return fail(ENOENT);
	default:
		/* anything else would need a real kernel: libbpf reports it */
		return fail(EOPNOTSUPP);
	}
}

long vk_syscall(long nr, ...)
{
	va_list ap;
	long a0, a1, a2;

	va_start(ap, nr);
	a0 = va_arg(ap, long);
	a1 = va_arg(ap, long);
	a2 = va_arg(ap, long);
	va_end(ap);

	switch (nr) {
	case __NR_bpf:
		return vk_bpf((int)a0, (union bpf_attr *)(uintptr_t)a1, (unsigned int)a2);
	case __NR_memfd_create:
		/* libbpf's placeholder fds for maps, later pointed at the real map by dup3 */
		return vk_fd_new(VK_PLACEHOLDER, -1);
	case __NR_dup3: {
		int oldfd = (int)a0, newfd = (int)a1;

		if (!is_fake(oldfd) || !is_fake(newfd) || vk_fd_kind(oldfd) == VK_NONE)
			return fail(EBADF);
		vk.fd_kind[newfd - VK_FD_BASE] = vk.fd_kind[oldfd - VK_FD_BASE];
		vk.fd_rec[newfd - VK_FD_BASE] = vk.fd_rec[oldfd - VK_FD_BASE];
		return newfd;
	}
	default:
		return fail(ENOSYS);
	}
}

int vk_close(int fd)
{
	if (!is_fake(fd))
		return close(fd);
	if (vk.fd_kind[fd - VK_FD_BASE] == VK_NONE)
		return fail(EBADF);
	vk.fd_kind[fd - VK_FD_BASE] = VK_NONE;
	return 0;
}

int vk_fcntl(int fd, int cmd, ...)
{
	va_list ap;
	long arg;

	va_start(ap, cmd);
	arg = va_arg(ap, long);
	va_end(ap);
	if (!is_fake(fd))
		return fcntl(fd, cmd, arg);
	if (cmd == F_DUPFD_CLOEXEC || cmd == F_DUPFD) {
		if (vk.fd_kind[fd - VK_FD_BASE] == VK_NONE)
			return fail(EBADF);
		return vk_fd_new(vk.fd_kind[fd - VK_FD_BASE], vk.fd_rec[fd - VK_FD_BASE]);
	}
	return 0;
}

void *vk_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	/* re-mmap of a map's initial image onto the (virtual) map: keep the image */
	if (is_fake(fd))
		return (flags & MAP_FIXED) ? addr : (errno = ENODEV, MAP_FAILED);
	return mmap(addr, len, prot, flags, fd, off);
}

int vk_munmap(void *addr, size_t len)
{
	return munmap(addr, len);
}

int vk_ioctl(int fd, unsigned long req, ...)
{
	(void)fd;
	(void)req;
	return fail(ENOTTY);
}

int vk_uname(struct utsname *buf)
{
	memset(buf, 0, sizeof(*buf));
	strcpy(buf->sysname, "Linux");
	strcpy(buf->nodename, "corebpf");
	snprintf(buf->release, sizeof(buf->release), "%s", vk.release);
	snprintf(buf->version, sizeof(buf->version), "%s", vk.version);
	snprintf(buf->machine, sizeof(buf->machine), "%s", vk.machine);
	return 0;
}

/* Files: the only files the virtual kernel has are an optional /proc/kallsyms and the
 * kernel config (/boot/config-RELEASE, /proc/config.gz) given as input; everything else
 * (sysfs BTF, tracefs) does not exist. Target BTF reaches libbpf as data, not a file. */
static bool is_kallsyms(const char *path)
{
	return vk.kallsyms && strcmp(path, "/proc/kallsyms") == 0;
}

int vk_open(const char *path, int flags, ...)
{
	(void)path;
	(void)flags;
	return fail(ENOENT);
}

FILE *vk_fopen(const char *path, const char *mode)
{
	(void)mode;
	if (is_kallsyms(path))
		return fmemopen((void *)vk.kallsyms, vk.kallsyms_len, "r");
	errno = ENOENT;
	return NULL;
}

int vk_faccessat(int dirfd, const char *path, int mode, int flags)
{
	(void)dirfd;
	(void)mode;
	(void)flags;
	return is_kallsyms(path) ? 0 : fail(ENOENT);
}

int vk_access(const char *path, int mode)
{
	return vk_faccessat(AT_FDCWD, path, mode, 0);
}

/* The kernel config as the file libbpf reads when its kconfig option leaves a __kconfig
 * extern unset (a __weak CONFIG_ the kernel does not have): on a real system that is
 * /boot/config-$(uname -r), the same text. A gzFile libbpf only passes to gzgets and
 * gzclose, which are redirected here too. */
static struct {
	const char *at;
} kconfig_file;

static bool is_kconfig(const char *path)
{
	char boot[128];

	if (!vk.kconfig)
		return false;
	snprintf(boot, sizeof(boot), "/boot/config-%s", vk.release);
	return strcmp(path, boot) == 0 || strcmp(path, "/proc/config.gz") == 0;
}

gzFile vk_gzopen(const char *path, const char *mode)
{
	(void)mode;
	if (is_kconfig(path)) {
		kconfig_file.at = vk.kconfig;
		return (gzFile)(void *)&kconfig_file;
	}
	errno = ENOENT;
	return NULL;
}

char *vk_gzgets(gzFile file, char *buf, int len)
{
	const char *nl;
	size_t n;

	if (file != (gzFile)(void *)&kconfig_file)
		return (gzgets)(file, buf, len);
	if (!kconfig_file.at || !*kconfig_file.at || len < 2)
		return NULL;
	nl = strchr(kconfig_file.at, '\n');
	n = nl ? (size_t)(nl - kconfig_file.at) + 1 : strlen(kconfig_file.at);
	if (n > (size_t)len - 1)
		n = (size_t)len - 1;
	memcpy(buf, kconfig_file.at, n);
	buf[n] = 0;
	kconfig_file.at += n;
	return buf;
}

int vk_gzclose(gzFile file)
{
	if (file != (gzFile)(void *)&kconfig_file)
		return (gzclose)(file);
	kconfig_file.at = NULL;
	return Z_OK;
}

long vk_sysconf(int name)
{
	if (name == _SC_PAGESIZE)
		return vk.page_size;
	return sysconf(name);
}

int vk_getpagesize(void)
{
	return (int)vk.page_size;
}

char *vk_getenv(const char *name)
{
	(void)name;
	return NULL;
}

int vk_getrlimit(int res, struct rlimit *rl)
{
	(void)res;
	rl->rlim_cur = rl->rlim_max = RLIM_INFINITY;
	return 0;
}

int vk_setrlimit(int res, const struct rlimit *rl)
{
	(void)res;
	(void)rl;
	return 0;
}
