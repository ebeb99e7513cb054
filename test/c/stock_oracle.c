/* stock-oracle: Debian's own libbpf (the libbpf-dev shared library, 1:1.1.2, an
 * independent build of an older version) running its normal open -> load pipeline against
 * corebpf's virtual kernel (wasm/vk*.c), without a kernel. test/stock-libbpf.test.ts
 * compares what it produces with corebpf-native (libbpf 1.5.0); docs/stock-libbpf.md
 * explains the comparison and every difference.
 *
 *   stock-oracle OBJECT TARGET_BTF [--name N] [--release R] [--kernel-version V]
 *                [--kconfig FILE] [--kallsyms FILE] [--log]
 *
 * How: libbpf.so reaches the kernel and the host only through libc functions. This
 * executable defines those functions itself (syscall, close, fcntl, mmap, dup3, uname,
 * open, fopen, faccessat, gzopen): a definition in the executable wins over libc's for
 * calls from the shared library. They forward to the virtual kernel, which records every
 * bpf() call and answers with fake fds (>= VK_FD_BASE); anything else goes on to the real
 * libc function (dlsym(RTLD_NEXT, ...)). The virtual kernel is compiled with
 * close/fcntl/mmap renamed to stock_real_* (mk/stock.mk): its own calls to libc must not
 * come back here.
 *
 * Files are virtual too, as in corebpf: while libbpf runs, the only files that exist are
 * OBJECT, TARGET_BTF (given as btf_custom_path, the CO-RE target) and
 * /sys/kernel/btf/vmlinux, which is TARGET_BTF as well (the "kernel's" BTF, used for
 * tp_btf/fentry attach ids and typed ksyms) — what corebpf gives libbpf as the target.
 * /proc/kallsyms is the --kallsyms text if given (served by vk_host.c); kernel configs, tracefs
 * and module BTFs do not exist (--kconfig FILE is given to libbpf as opts.kconfig text, as
 * corebpf does); uname() reports release R and version V (default empty, as corebpf-native).
 *
 * Output (stdout, JSON):
 *   {"libbpf":"v1.1", "opened":bool, "loaded":bool, "error":{errno,message}|null,
 *    "programs":[{name, section, type, expectedAttachType, attachBtfId, kernVersion, insns,
 *                 funcInfo, lineInfo}],
 *    "btf": the object's BTF as loaded (sanitized) | null,
 *    "maps":[{name, type, keySize, valueSize, maxEntries, flags, freeze,
 *             initial:[{key, value | program | map}]}],
 *    "calls":[...], "features":{...}, "refusedFiles":[...], "log":"..."}
 * insns: final instructions (base64) of each program loaded into the virtual kernel, map
 * references replaced by the map's index in the object's map order — the plan map index
 * corebpf-native writes (prog-array / map-in-map slots likewise name plan indexes). calls: bpf()/perf_event_open commands made, by result (feature
 * probes among them). features: what libbpf 1.1 concluded from its probes (see
 * put_features). refusedFiles: paths libbpf asked for that the virtual kernel lacks.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <linux/bpf.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "vk.h"

/* the virtual kernel's entry points (wasm/vk_syscall.c, vk_host.c) */
long vk_syscall(long nr, ...);
int vk_close(int fd);
int vk_fcntl(int fd, int cmd, ...);
void *vk_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int vk_uname(struct utsname *buf);
int vk_open(const char *path, int flags, ...);
FILE *vk_fopen(const char *path, const char *mode);
int vk_faccessat(int dirfd, const char *path, int mode, int flags);

/* ---- the real libc functions --------------------------------------------------------- */

static void *real(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);

	if (!p) {
		fprintf(stderr, "stock-oracle: no libc %s\n", name);
		abort();
	}
	return p;
}

#define REAL(type, name) \
	static __typeof__(type) real_##name; \
	if (!real_##name) \
		real_##name = (type)real(#name)

int stock_real_close(int fd)
{
	REAL(int (*)(int), close);
	return real_close(fd);
}

int stock_real_fcntl(int fd, int cmd, ...)
{
	va_list ap;
	long arg;

	REAL(int (*)(int, int, ...), fcntl64);
	va_start(ap, cmd);
	arg = va_arg(ap, long);
	va_end(ap);
	return real_fcntl64(fd, cmd, arg);
}

void *stock_real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	REAL(void *(*)(void *, size_t, int, int, int, off_t), mmap64);
	return real_mmap64(addr, len, prot, flags, fd, off);
}

/* ---- the bpf() calls libbpf made, by command and result ------------------------------- */

/* libbpf 1.1's feature probes are bpf() call sequences among them: the virtual kernel
 * accepts BTF_LOAD, MAP_CREATE, PROG_LOAD (and the update/freeze/bind that follow), so
 * every probe built from those concludes "supported"; see put_features for the others */
struct call_stat {
	long cmd; /* bpf command, or -__NR_perf_event_open */
	int err;  /* errno, 0 for success */
	int count;
};
static struct call_stat stats[64];
static int nr_stats;
static bool armed; /* libbpf is running: the virtual kernel and virtual files apply */

static void note_call(long cmd, long ret)
{
	int i, err = ret < 0 ? errno : 0;

	for (i = 0; i < nr_stats; i++)
		if (stats[i].cmd == cmd && stats[i].err == err)
			break;
	if (i == nr_stats) {
		if (nr_stats == (int)(sizeof(stats) / sizeof(stats[0])))
			return;
		stats[nr_stats].cmd = cmd;
		stats[nr_stats].err = err;
		nr_stats++;
	}
	stats[i].count++;
}

/* ---- interposed libc functions (called by libbpf.so) ----------------------------------- */

long syscall(long nr, ...)
{
	va_list ap;
	long a[6], ret;
	int i, e;

	va_start(ap, nr);
	for (i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	switch (nr) {
	case __NR_bpf:
		/* never the real kernel's bpf(), armed or not */
		ret = vk_syscall(nr, a[0], a[1], a[2]);
		e = errno;
		note_call(a[0], ret);
		errno = e;
		return ret;
	case __NR_perf_event_open:
		ret = vk_syscall(nr, a[0], a[1], a[2]);
		e = errno;
		note_call(-nr, ret);
		errno = e;
		return ret;
	case __NR_memfd_create:
	case __NR_dup3:
		return vk_syscall(nr, a[0], a[1], a[2]);
	default: {
		REAL(long (*)(long, ...), syscall);
		return real_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	}
	}
}

int close(int fd)
{
	return vk_close(fd); /* non-fake fds: the real close */
}

int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	long arg;

	va_start(ap, cmd);
	arg = va_arg(ap, long);
	va_end(ap);
	return vk_fcntl(fd, cmd, arg);
}

int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	long arg;

	va_start(ap, cmd);
	arg = va_arg(ap, long);
	va_end(ap);
	return vk_fcntl(fd, cmd, arg);
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return vk_mmap(addr, len, prot, flags, fd, off);
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off)
{
	return vk_mmap(addr, len, prot, flags, fd, off);
}

int dup3(int oldfd, int newfd, int flags)
{
	REAL(int (*)(int, int, int), dup3);
	if (oldfd >= VK_FD_BASE || newfd >= VK_FD_BASE)
		return vk_syscall(__NR_dup3, (long)oldfd, (long)newfd, (long)flags);
	return real_dup3(oldfd, newfd, flags);
}

int uname(struct utsname *buf)
{
	REAL(int (*)(struct utsname *), uname);
	return armed ? vk_uname(buf) : real_uname(buf);
}

/* the virtual file system: the object, the target BTF, and the target as the kernel's BTF */
static const char *obj_path, *btf_path;
static char *refused[32]; /* paths libbpf asked for that the virtual kernel does not have */
static int nr_refused;

static void note_refused(const char *path)
{
	int i;

	for (i = 0; i < nr_refused; i++)
		if (!strcmp(refused[i], path))
			return;
	if (nr_refused < (int)(sizeof(refused) / sizeof(refused[0])))
		refused[nr_refused++] = strdup(path);
}

static const char *vfs_path(const char *path)
{
	if (!path)
		return NULL;
	if (!strcmp(path, obj_path) || !strcmp(path, btf_path))
		return path;
	if (!strcmp(path, "/sys/kernel/btf/vmlinux"))
		return btf_path;
	return NULL;
}

static int do_open(const char *name, const char *path, int flags, va_list ap)
{
	int (*fn)(const char *, int, ...) = real(name);
	/* glibc's __OPEN_NEEDS_MODE */
	mode_t mode = ((flags & O_CREAT) || (flags & __O_TMPFILE) == __O_TMPFILE) ? va_arg(ap, mode_t) : 0;
	const char *p;

	if (!armed)
		return fn(path, flags, mode);
	p = vfs_path(path);
	if (p)
		return fn(p, flags, mode);
	note_refused(path);
	return vk_open(path, flags);
}

int open(const char *path, int flags, ...)
{
	va_list ap;
	int r;

	va_start(ap, flags);
	r = do_open("open", path, flags, ap);
	va_end(ap);
	return r;
}

int open64(const char *path, int flags, ...)
{
	va_list ap;
	int r;

	va_start(ap, flags);
	r = do_open("open64", path, flags, ap);
	va_end(ap);
	return r;
}

static FILE *do_fopen(const char *name, const char *path, const char *mode)
{
	FILE *(*fn)(const char *, const char *) = real(name);
	const char *p;
	FILE *f;

	if (!armed)
		return fn(path, mode);
	p = vfs_path(path);
	if (p)
		return fn(p, mode);
	f = vk_fopen(path, mode); /* vk: /proc/kallsyms if given, else ENOENT */
	if (!f)
		note_refused(path);
	return f;
}

FILE *fopen(const char *path, const char *mode)
{
	return do_fopen("fopen", path, mode);
}

FILE *fopen64(const char *path, const char *mode)
{
	return do_fopen("fopen64", path, mode);
}

int faccessat(int dirfd, const char *path, int mode, int flags)
{
	REAL(int (*)(int, const char *, int, int), faccessat);
	const char *p;

	if (!armed)
		return real_faccessat(dirfd, path, mode, flags);
	p = vfs_path(path);
	if (p)
		return real_faccessat(dirfd, p, mode, flags);
	if (vk_faccessat(dirfd, path, mode, flags) == 0)
		return 0;
	note_refused(path);
	return -1;
}

/* kernel config (/boot/config-R, /proc/config.gz): none, as in corebpf without --kconfig */
void *gzopen64(const char *path, const char *mode)
{
	REAL(void *(*)(const char *, const char *), gzopen64);
	if (!armed)
		return real_gzopen64(path, mode);
	note_refused(path);
	errno = ENOENT;
	return NULL;
}

void *gzopen(const char *path, const char *mode)
{
	return gzopen64(path, mode);
}

/* The virtual kernel has one CPU (plan_map.c's vk_num_possible_cpus; the plan leaves
 * per-CPU sizes to the host). libbpf.so calls its own exported function through the PLT,
 * so this definition wins there too. */
int libbpf_num_possible_cpus(void)
{
	return 1;
}

/* ---- output ---------------------------------------------------------------------------- */

static void put_str(const char *s, size_t n)
{
	size_t i;

	putchar('"');
	for (i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c == '\n')
			fputs("\\n", stdout);
		else if (c == '\t')
			fputs("\\t", stdout);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void put_cstr(const char *s)
{
	put_str(s ? s : "", s ? strlen(s) : 0);
}

static void put_base64(const unsigned char *d, size_t n)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	putchar('"');
	for (i = 0; i + 2 < n; i += 3) {
		unsigned v = d[i] << 16 | d[i + 1] << 8 | d[i + 2];

		printf("%c%c%c%c", t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], t[v & 63]);
	}
	if (n - i == 1)
		printf("%c%c==", t[d[i] >> 2], t[(d[i] & 3) << 4]);
	else if (n - i == 2)
		printf("%c%c%c=", t[d[i] >> 2], t[((d[i] & 3) << 4) | (d[i + 1] >> 4)], t[(d[i + 1] & 15) << 2]);
	putchar('"');
}

static char *log_buf;
static size_t log_len, log_cap;

static int print_fn(enum libbpf_print_level level, const char *f, va_list ap)
{
	char tmp[2048];
	int n;

	if (level == LIBBPF_DEBUG)
		return 0;
	n = vsnprintf(tmp, sizeof(tmp), f, ap);
	if (n < 0)
		return 0;
	if ((size_t)n >= sizeof(tmp))
		n = sizeof(tmp) - 1;
	if (log_len + n + 1 > log_cap) {
		log_cap = (log_len + n + 1) * 2;
		log_buf = realloc(log_buf, log_cap);
	}
	memcpy(log_buf + log_len, tmp, n);
	log_len += n;
	log_buf[log_len] = 0;
	return n;
}

static void put_error(int err)
{
	char msg[256];
	const char *name = err < 4000 ? strerrorname_np(err) : NULL;

	libbpf_strerror(err, msg, sizeof(msg));
	printf("{\"errno\":");
	if (name)
		put_cstr(name);
	else
		printf("%d", err);
	printf(",\"message\":");
	put_cstr(msg);
	printf("}");
}

static const char *cmd_name(long cmd)
{
	switch (cmd) {
	case -__NR_perf_event_open: return "perf_event_open";
	case BPF_MAP_CREATE: return "BPF_MAP_CREATE";
	case BPF_MAP_UPDATE_ELEM: return "BPF_MAP_UPDATE_ELEM";
	case BPF_PROG_LOAD: return "BPF_PROG_LOAD";
	case BPF_OBJ_GET: return "BPF_OBJ_GET";
	case BPF_OBJ_GET_INFO_BY_FD: return "BPF_OBJ_GET_INFO_BY_FD";
	case BPF_BTF_LOAD: return "BPF_BTF_LOAD";
	case BPF_BTF_GET_NEXT_ID: return "BPF_BTF_GET_NEXT_ID";
	case BPF_MAP_FREEZE: return "BPF_MAP_FREEZE";
	case BPF_LINK_CREATE: return "BPF_LINK_CREATE";
	case BPF_PROG_BIND_MAP: return "BPF_PROG_BIND_MAP";
	default: return NULL;
	}
}

static void put_calls(void)
{
	int i;

	printf("[");
	for (i = 0; i < nr_stats; i++) {
		const char *n = cmd_name(stats[i].cmd);

		printf("%s{\"cmd\":", i ? "," : "");
		if (n)
			put_cstr(n);
		else
			printf("%ld", stats[i].cmd);
		printf(",\"errno\":");
		if (stats[i].err)
			put_cstr(strerrorname_np(stats[i].err));
		else
			printf("null");
		printf(",\"count\":%d}", stats[i].count);
	}
	printf("]");
}

/* features whose libbpf 1.1 probe needs more than BTF/map/program creation: the probe's
 * call and the result that means "supported" (libbpf.c 1.1.2: probe_module_btf,
 * probe_perf_link, probe_kern_syscall_wrapper) */
static const char *feature_state(long cmd, int want_err)
{
	bool seen = false, yes = false;
	int i;

	for (i = 0; i < nr_stats; i++) {
		if (stats[i].cmd != cmd)
			continue;
		seen = true;
		if (stats[i].err == want_err)
			yes = true;
	}
	return !seen ? "not probed" : yes ? "supported" : "missing";
}

static bool creations_ok(void)
{
	int i;

	for (i = 0; i < nr_stats; i++)
		if ((stats[i].cmd == BPF_BTF_LOAD || stats[i].cmd == BPF_MAP_CREATE || stats[i].cmd == BPF_PROG_LOAD) &&
		    stats[i].err)
			return false;
	return true;
}

static bool refused_match(const char *part)
{
	int i;

	for (i = 0; i < nr_refused; i++)
		if (strstr(refused[i], part))
			return true;
	return false;
}

static void put_features(void)
{
	const char *wrapper = feature_state(-__NR_perf_event_open, 0);

	printf("{\"FEAT_MODULE_BTF\":");
	put_cstr(feature_state(BPF_OBJ_GET_INFO_BY_FD, 0));
	printf(",\"FEAT_PERF_LINK\":");
	put_cstr(feature_state(BPF_LINK_CREATE, EBADF));
	printf(",\"FEAT_SYSCALL_WRAPPER\":");
	/* probe_kern_syscall_wrapper: perf_event_open of a kprobe, or (no kprobe PMU type
	 * file) a legacy kprobe_events write; the virtual kernel has neither */
	if (!strcmp(wrapper, "not probed") && refused_match("kprobe"))
		wrapper = "missing";
	put_cstr(wrapper);
	/* every other 1.1 probe is BTF_LOAD / MAP_CREATE / PROG_LOAD (+ update, bind_map) */
	printf(",\"others\":");
	put_cstr(creations_ok() ? "supported" : "some creation failed");
	printf("}");
}

/* vk record -> plan index: the object's maps and programs in libbpf's order, as
 * plan.c's plan_write numbers them */
static int *map_index, *prog_index;

static void index_records(struct bpf_object *obj)
{
	struct bpf_program *prog;
	struct bpf_map *map;
	int i, nm = 0, np = 0;

	map_index = calloc(vk.nr_maps + 1, sizeof(int));
	prog_index = calloc(vk.nr_progs + 1, sizeof(int));
	for (i = 0; i < vk.nr_maps; i++)
		map_index[i] = -1;
	for (i = 0; i < vk.nr_progs; i++)
		prog_index[i] = -1;
	bpf_object__for_each_map(map, obj) {
		int r = vk_fd_lookup(bpf_map__fd(map), VK_MAP);

		if (r >= 0 && map_index[r] < 0)
			map_index[r] = nm++;
	}
	bpf_object__for_each_program(prog, obj) {
		int r = vk_fd_lookup(bpf_program__fd(prog), VK_PROG);

		if (r >= 0)
			prog_index[r] = np++;
	}
}

static void put_program(struct bpf_program *prog, const struct vk_prog_rec *p)
{
	struct bpf_insn *insns = NULL;
	uint32_t k;

	if (p->insns.len) {
		insns = malloc(p->insns.len);
		memcpy(insns, p->insns.data, p->insns.len);
	}
	for (k = 0; k < p->nr_refs; k++)
		if (p->refs[k].kind == VK_MAP)
			insns[p->refs[k].insn].imm = map_index[p->refs[k].ref];
	printf("{\"name\":");
	put_cstr(bpf_program__name(prog));
	printf(",\"section\":");
	put_cstr(bpf_program__section_name(prog));
	printf(",\"type\":%u,\"expectedAttachType\":%u,\"attachBtfId\":%u,\"kernVersion\":%u,\"insns\":",
	       p->prog_type, p->expected_attach_type, p->attach_btf_id, p->kern_version);
	put_base64((const unsigned char *)insns, p->insns.len);
	printf(",\"funcInfo\":");
	if (p->func_info.len)
		put_base64(p->func_info.data, p->func_info.len);
	else
		printf("null");
	printf(",\"lineInfo\":");
	if (p->line_info.len)
		put_base64(p->line_info.data, p->line_info.len);
	else
		printf("null");
	printf("}");
	free(insns);
}

/* an input file, read before the virtual file system is armed */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0, r;

	if (!f) {
		perror(path);
		return NULL;
	}
	do {
		if (n + 65536 > cap) {
			cap = cap ? cap * 2 : 1 << 16;
			buf = realloc(buf, cap + 1);
		}
		r = fread(buf + n, 1, cap - n, f);
		n += r;
	} while (r > 0);
	fclose(f);
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

/* the object's maps as created, with their initial contents (plan order) */
static void put_maps(struct bpf_object *obj)
{
	struct bpf_map *map;
	bool first = true;

	printf("[");
	bpf_object__for_each_map(map, obj) {
		int r = vk_fd_lookup(bpf_map__fd(map), VK_MAP);
		const struct vk_map_rec *m;
		uint32_t k;

		if (r < 0)
			continue;
		m = &vk.maps[r];
		printf("%s{\"name\":", first ? "" : ",");
		first = false;
		put_cstr(bpf_map__name(map));
		printf(",\"type\":%u,\"keySize\":%u,\"valueSize\":%u,\"maxEntries\":%u,\"flags\":%u,\"freeze\":%s,\"initial\":[",
		       m->map_type, m->key_size, m->value_size, m->max_entries, m->map_flags, m->frozen ? "true" : "false");
		for (k = 0; k < m->nr_updates; k++) {
			const struct vk_update *u = &m->updates[k];

			printf("%s{\"key\":", k ? "," : "");
			put_base64(u->key.data, u->key.len);
			if (u->ref_kind == VK_PROG) {
				printf(",\"program\":%d", prog_index[u->ref]);
			} else if (u->ref_kind == VK_MAP) {
				printf(",\"map\":%d", map_index[u->ref]);
			} else {
				printf(",\"value\":");
				put_base64(u->value.data, u->value.len);
			}
			printf("}");
		}
		printf("]}");
	}
	printf("]");
}

int main(int argc, char **argv)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts);
	const char *name = NULL, *release = "", *version = "", *kconfig_path = NULL, *kallsyms_path = NULL;
	char *kconfig = NULL, *kallsyms = NULL;
	size_t kallsyms_len = 0;
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_map *map;
	bool want_log = false, opened = false, loaded = false, first = true;
	int i, err = 0;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--name") && i + 1 < argc)
			name = argv[++i];
		else if (!strcmp(argv[i], "--release") && i + 1 < argc)
			release = argv[++i];
		else if (!strcmp(argv[i], "--kernel-version") && i + 1 < argc)
			version = argv[++i];
		else if (!strcmp(argv[i], "--kconfig") && i + 1 < argc)
			kconfig_path = argv[++i];
		else if (!strcmp(argv[i], "--kallsyms") && i + 1 < argc)
			kallsyms_path = argv[++i];
		else if (!strcmp(argv[i], "--log"))
			want_log = true;
		else if (!obj_path)
			obj_path = argv[i];
		else if (!btf_path)
			btf_path = argv[i];
		else
			obj_path = NULL, i = argc;
	}
	if (!obj_path || !btf_path) {
		fprintf(stderr, "usage: %s OBJECT TARGET_BTF [--name N] [--release R] [--kernel-version V] [--kconfig FILE] [--kallsyms FILE] [--log]\n",
			argv[0]);
		return 2;
	}
	if ((kconfig_path && !(kconfig = slurp(kconfig_path, NULL))) ||
	    (kallsyms_path && !(kallsyms = slurp(kallsyms_path, &kallsyms_len))))
		return 2;

	vk_reset();
	snprintf(vk.release, sizeof(vk.release), "%s", release);
	snprintf(vk.version, sizeof(vk.version), "%s", version);
	vk.kallsyms = kallsyms;
	vk.kallsyms_len = kallsyms_len;
	libbpf_set_print(print_fn);
	opts.object_name = name;
	opts.btf_custom_path = btf_path;
	opts.kconfig = kconfig;

	armed = true;
	obj = bpf_object__open_file(obj_path, &opts);
	if (!obj) {
		err = -errno;
	} else {
		opened = true;
		/* pinning is the host's job in corebpf: the plan keeps pin paths, libbpf pins nothing */
		bpf_object__for_each_map(map, obj)
			if (bpf_map__pin_path(map))
				bpf_map__set_pin_path(map, NULL);
		err = bpf_object__load(obj);
		loaded = !err;
	}
	armed = false;

	printf("{\"libbpf\":");
	put_cstr(libbpf_version_string());
	printf(",\"opened\":%s,\"loaded\":%s,\"error\":", opened ? "true" : "false", loaded ? "true" : "false");
	if (err)
		put_error(-err);
	else
		printf("null");
	printf(",\"programs\":[");
	if (loaded) {
		index_records(obj);
		bpf_object__for_each_program(prog, obj) {
			int r = vk_fd_lookup(bpf_program__fd(prog), VK_PROG);

			if (r < 0)
				continue;
			if (!first)
				printf(",");
			first = false;
			put_program(prog, &vk.progs[r]);
		}
	}
	printf("],\"btf\":");
	if (loaded && vk_fd_lookup(bpf_object__btf_fd(obj), VK_BTF) >= 0) {
		const struct vk_buf *b = &vk.btfs[vk_fd_lookup(bpf_object__btf_fd(obj), VK_BTF)].data;

		put_base64(b->data, b->len);
	} else {
		printf("null");
	}
	printf(",\"maps\":");
	if (loaded)
		put_maps(obj);
	else
		printf("[]");
	printf(",\"calls\":");
	put_calls();
	printf(",\"features\":");
	put_features();
	printf(",\"refusedFiles\":[");
	for (i = 0; i < nr_refused; i++) {
		printf("%s", i ? "," : "");
		put_cstr(refused[i]);
	}
	printf("]");
	if (want_log) {
		printf(",\"log\":");
		put_str(log_buf ? log_buf : "", log_len);
	}
	printf("}\n");
	fflush(stdout);
	bpf_object__close(obj);
	return 0;
}
