/* Shared by the virtual kernel's own files (vk*.c), not by its callers: the record
 * helpers and the bpf() commands vk_syscall.c dispatches. Compiled, like them, without
 * vk_redirect.h. */
#ifndef COREBPF_VK_INTERNAL_H
#define COREBPF_VK_INTERNAL_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vk.h"

/* append a zeroed element to arr (n elements): 0, or -ENOMEM */
#define VK_GROW(arr, n) \
	((arr) = realloc((arr), sizeof(*(arr)) * ((n) + 1)), (arr) ? memset(&(arr)[(n)], 0, sizeof(*(arr))), 0 : -ENOMEM)

/* a syscall's failure: -1 with errno, as libc returns it to libbpf */
static inline long vk_fail(int err)
{
	errno = err;
	return -1;
}

static inline bool vk_fd_fake(int fd)
{
	return fd >= VK_FD_BASE && fd < VK_FD_BASE + VK_MAX_FDS;
}

/* a copy of len bytes at user address ptr: 0, or -ENOMEM */
int vk_buf_copy(struct vk_buf *dst, uint64_t ptr, uint64_t len);
void vk_buf_free(struct vk_buf *b);

/* the bpf() commands that create records or answer from them: an fd or 0, or vk_fail() */
long vk_btf_load(union bpf_attr *a);
long vk_map_create(union bpf_attr *a);
long vk_map_update(union bpf_attr *a);
long vk_prog_load(union bpf_attr *a);
long vk_btf_get_next_id(union bpf_attr *a, union bpf_attr *uattr);
long vk_btf_get_fd_by_id(uint32_t id);
long vk_obj_get_info(union bpf_attr *a, union bpf_attr *uattr);

#endif
