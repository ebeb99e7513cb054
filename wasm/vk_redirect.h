/* Force-included (-include) into every libbpf translation unit, wasm and native alike.
 *
 * libbpf's syscalls and the host facts it reads (uname, page size, environment, files)
 * are redirected here to the virtual kernel (the calls land in vk_syscall.c and
 * vk_host.c, the bpf() commands in vk_btf.c, vk_map.c and vk_prog.c), so that libbpf
 * runs its normal open -> load pipeline without a kernel and the result depends only on
 * the inputs.
 * The system headers are included first and the redirections are function-like macros,
 * so declarations and struct members with the same names are left alone.
 */
#ifndef COREBPF_VK_REDIRECT_H
#define COREBPF_VK_REDIRECT_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <zlib.h>

#include "vk_nr.h"

long vk_syscall(long nr, ...);
int vk_close(int fd);
int vk_fcntl(int fd, int cmd, ...);
void *vk_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int vk_munmap(void *addr, size_t len);
int vk_uname(struct utsname *buf);
int vk_open(const char *path, int flags, ...);
FILE *vk_fopen(const char *path, const char *mode);
int vk_faccessat(int dirfd, const char *path, int mode, int flags);
int vk_access(const char *path, int mode);
long vk_sysconf(int name);
int vk_getpagesize(void);
char *vk_getenv(const char *name);
gzFile vk_gzopen(const char *path, const char *mode);
char *vk_gzgets(gzFile file, char *buf, int len);
int vk_gzclose(gzFile file);
int vk_getrlimit(int res, struct rlimit *rl);
int vk_setrlimit(int res, const struct rlimit *rl);
int vk_ioctl(int fd, unsigned long req, ...);

#define syscall(...) vk_syscall(__VA_ARGS__)
#define close(fd) vk_close(fd)
#define fcntl(...) vk_fcntl(__VA_ARGS__)
#define mmap(a, l, p, f, fd, o) vk_mmap(a, l, p, f, fd, o)
#define munmap(a, l) vk_munmap(a, l)
#define uname(b) vk_uname(b)
#define open(...) vk_open(__VA_ARGS__)
#define fopen(p, m) vk_fopen(p, m)
#define faccessat(d, p, m, f) vk_faccessat(d, p, m, f)
#define access(p, m) vk_access(p, m)
#define sysconf(n) vk_sysconf(n)
#define getpagesize() vk_getpagesize()
#define getenv(n) vk_getenv(n)
#undef gzopen /* zlib maps it to gzopen64 under _FILE_OFFSET_BITS=64 */
#define gzopen(p, m) vk_gzopen(p, m)
#define gzgets(f, b, l) vk_gzgets(f, b, l)
#define gzclose(f) vk_gzclose(f)
#define getrlimit(r, l) vk_getrlimit(r, l)
#define setrlimit(r, l) vk_setrlimit(r, l)
#define ioctl(...) vk_ioctl(__VA_ARGS__)

#endif
