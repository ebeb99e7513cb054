/* The virtual kernel's records and fd table (vk.h), reset around every run. What
 * vk_redirect.h points libbpf's calls at is in vk_syscall.c and vk_host.c, the bpf()
 * commands in vk_btf.c, vk_map.c and vk_prog.c. All are compiled without the
 * redirections, so the real libc functions are reachable. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vk_internal.h"

struct vk_state vk;

void vk_buf_free(struct vk_buf *b)
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
		vk_buf_free(&vk.btfs[i].data);
	for (i = 0; i < vk.nr_maps; i++) {
		for (j = 0; j < vk.maps[i].nr_updates; j++) {
			vk_buf_free(&vk.maps[i].updates[j].key);
			vk_buf_free(&vk.maps[i].updates[j].value);
		}
		free(vk.maps[i].updates);
	}
	for (i = 0; i < vk.nr_progs; i++) {
		struct vk_prog_rec *p = &vk.progs[i];

		free(p->license);
		vk_buf_free(&p->insns);
		vk_buf_free(&p->func_info);
		vk_buf_free(&p->line_info);
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

enum vk_kind vk_fd_kind(int fd)
{
	return vk_fd_fake(fd) ? vk.fd_kind[fd - VK_FD_BASE] : VK_NONE;
}

int vk_fd_lookup(int fd, enum vk_kind kind)
{
	if (!vk_fd_fake(fd) || vk.fd_kind[fd - VK_FD_BASE] != kind)
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

int vk_buf_copy(struct vk_buf *dst, uint64_t ptr, uint64_t len)
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
