/* The fd-level calls libbpf makes, redirected here (vk_redirect.h): syscall() (bpf()
 * dispatched to the commands, memfd_create and dup3 on the fd table), close, fcntl, mmap
 * and ioctl. fds below VK_FD_BASE are real and go on to libc. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <linux/bpf.h>

#include "vk_internal.h"

#include "vk_nr.h"

static long vk_bpf(int cmd, union bpf_attr *uattr, unsigned int size)
{
	union bpf_attr a;
	int mi, pi;

	memset(&a, 0, sizeof(a));
	memcpy(&a, uattr, size < sizeof(a) ? size : sizeof(a));
	vk.nr_syscalls++;

	switch (cmd) {
	case BPF_BTF_LOAD:
		return vk_btf_load(&a);
	case BPF_MAP_CREATE:
		return vk_map_create(&a);
	case BPF_MAP_UPDATE_ELEM:
		return vk_map_update(&a);
	case BPF_MAP_FREEZE:
		mi = vk_fd_lookup(a.map_fd, VK_MAP);
		if (mi < 0)
			return vk_fail(EBADF);
		vk.maps[mi].frozen = true;
		return 0;
	case BPF_PROG_LOAD:
		return vk_prog_load(&a);
	case BPF_PROG_BIND_MAP:
		pi = vk_fd_lookup(a.prog_bind_map.prog_fd, VK_PROG);
		mi = vk_fd_lookup(a.prog_bind_map.map_fd, VK_MAP);
		if (pi < 0 || mi < 0)
			return vk_fail(EBADF);
		if (VK_GROW(vk.progs[pi].bound_maps, vk.progs[pi].nr_bound_maps))
			return vk_fail(ENOMEM);
		vk.progs[pi].bound_maps[vk.progs[pi].nr_bound_maps++] = mi;
		return 0;
	case BPF_BTF_GET_NEXT_ID:
		return vk_btf_get_next_id(&a, uattr);
	case BPF_BTF_GET_FD_BY_ID:
		return vk_btf_get_fd_by_id(a.btf_id);
	case BPF_OBJ_GET_INFO_BY_FD:
		return vk_obj_get_info(&a, uattr);
	case BPF_OBJ_GET:
		return vk_fail(ENOENT);
	default:
		/* anything else would need a real kernel: libbpf reports it */
		return vk_fail(EOPNOTSUPP);
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

		if (!vk_fd_fake(oldfd) || !vk_fd_fake(newfd) || vk_fd_kind(oldfd) == VK_NONE)
			return vk_fail(EBADF);
		vk.fd_kind[newfd - VK_FD_BASE] = vk.fd_kind[oldfd - VK_FD_BASE];
		vk.fd_rec[newfd - VK_FD_BASE] = vk.fd_rec[oldfd - VK_FD_BASE];
		return newfd;
	}
	default:
		return vk_fail(ENOSYS);
	}
}

int vk_close(int fd)
{
	if (!vk_fd_fake(fd))
		return close(fd);
	if (vk.fd_kind[fd - VK_FD_BASE] == VK_NONE)
		return vk_fail(EBADF);
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
	if (!vk_fd_fake(fd))
		return fcntl(fd, cmd, arg);
	if (cmd == F_DUPFD_CLOEXEC || cmd == F_DUPFD) {
		if (vk.fd_kind[fd - VK_FD_BASE] == VK_NONE)
			return vk_fail(EBADF);
		return vk_fd_new(vk.fd_kind[fd - VK_FD_BASE], vk.fd_rec[fd - VK_FD_BASE]);
	}
	return 0;
}

void *vk_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	/* re-mmap of a map's initial image onto the (virtual) map: keep the image */
	if (vk_fd_fake(fd))
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
	return vk_fail(ENOTTY);
}
