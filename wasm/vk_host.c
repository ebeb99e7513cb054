/* The host facts libbpf reads, redirected here (vk_redirect.h): uname, page size,
 * environment, resource limits and files. They come from the run's inputs, so the result
 * depends on nothing of the machine it runs on. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <zlib.h>

#include "vk_internal.h"

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
	return vk_fail(ENOENT);
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
	return is_kallsyms(path) ? 0 : vk_fail(ENOENT);
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
