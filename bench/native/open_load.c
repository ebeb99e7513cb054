// Native libbpf peer of bench/cases/load-peers.mjs: open + load + close of one object in a
// loop, with the system libbpf (Debian's libbpf-dev), as a libbpf-based tool loads its object.
//
//   open-load OBJ N
//
// Per iteration (timed with CLOCK_MONOTONIC): bpf_object__open_file, bpf_object__load, then
// (untimed) the number of programs and the kernel id of each, then (timed)
// bpf_object__close. One line per iteration on stdout:
//   iter I MS PROGS ID,ID,... KMS
// where KMS is the part of MS spent inside bpf(2) (below: this program's syscall() stands in
// for libc's in libbpf's calls and times __NR_bpf), the kernel's own work that any loader
// issuing the same calls pays: the floor under load-peers' warm goal.
// and at the end `vmhwm KB`: the peak resident set of this process image (VmHWM in
// /proc/self/status; not getrusage's ru_maxrss, which also keeps the high-water mark of the
// pre-exec copy of the parent, see bench/README.md). libbpf's warnings go to
// stderr; debug output is dropped (libbpf's default print callback does the same).
// Exit status 1 when anything fails, with libbpf's error on stderr.
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <dlfcn.h>
#include <sys/syscall.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int print_fn(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* VmHWM of /proc/self/status in KB, or -1 */
static long vm_hwm_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ms inside bpf(2) since the last reset */
static double bpf_ms;

/*
 * libbpf 1.1 makes every bpf(2) call through libc's syscall() (sys_bpf in bpf.c); this
 * executable's definition is the one its PLT resolves to, so each call is timed here and
 * passed on to libc's. Six register arguments are forwarded as they came (the x86-64 and
 * arm64 conventions pass them in registers whatever their count); errno is libc's.
 */
long syscall(long nr, ...)
{
	static long (*libc_syscall)(long, ...);
	long a[6];
	va_list ap;

	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (!libc_syscall)
		libc_syscall = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	if (nr != __NR_bpf)
		return libc_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	double t0 = now_ms();
	long ret = libc_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	int saved = errno;
	bpf_ms += now_ms() - t0;
	errno = saved;
	return ret;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s OBJ N\n", argv[0]);
		return 2;
	}
	int n = atoi(argv[2]);
	libbpf_set_print(print_fn);
	for (int i = 0; i < n; i++) {
		double t0 = now_ms();
		bpf_ms = 0;
		struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
		if (!obj) {
			fprintf(stderr, "bpf_object__open_file(%s): %s\n", argv[1], strerror(errno));
			return 1;
		}
		int err = bpf_object__load(obj);
		if (err) {
			fprintf(stderr, "bpf_object__load(%s): %s\n", argv[1], strerror(-err));
			return 1;
		}
		double t1 = now_ms();
		double k_load = bpf_ms;
		char ids[256] = "";
		int progs = 0;
		size_t len = 0;
		struct bpf_program *p;
		bpf_object__for_each_program(p, obj) {
			struct bpf_prog_info info;
			__u32 ilen = sizeof(info);
			memset(&info, 0, sizeof(info));
			if (bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &ilen)) {
				fprintf(stderr, "BPF_OBJ_GET_INFO_BY_FD(%s): %s\n", bpf_program__name(p), strerror(errno));
				return 1;
			}
			len += snprintf(ids + len, sizeof(ids) - len, "%s%u", progs ? "," : "", info.id);
			progs++;
			if (len >= sizeof(ids))
				return 1;
		}
		double t2 = now_ms();
		double k_before_close = bpf_ms;
		bpf_object__close(obj);
		double t3 = now_ms();
		printf("iter %d %.4f %d %s %.4f\n", i + 1, (t1 - t0) + (t3 - t2), progs, ids, k_load + (bpf_ms - k_before_close));
	}
	printf("vmhwm %ld\n", vm_hwm_kb());
	return 0;
}
