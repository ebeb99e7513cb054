/* The feature-profile oracle: asks libbpf 1.5 (the pinned sources, built without corebpf's
 * virtual kernel, so it probes the real one) for each of its kernel features, through its
 * own feat_supported() and global feature cache, and prints them as JSON by the names
 * corebpf's relocator takes (FEAT_BTF_ENUM64 -> "btf_enum64").
 *
 * With --dump it first prints, one JSON line each, what every probe asks the kernel: the
 * bpf() commands with their payload (BTF blobs, instructions, attributes that decide) and
 * perf_event_open()s, caught by linking with -Wl,--wrap=syscall. The TypeScript probes are
 * compared with these byte for byte (test/kernel-features.test.ts). fds are left out. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include "libbpf.h"
#include "libbpf_internal.h"
#include "feat_names.h" /* generated from libbpf_internal.h's enum kern_feature_id */

static int dumping;

static void hex(const char *key, const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t i;

	printf(", \"%s\": \"", key);
	for (i = 0; b && i < n; i++)
		printf("%02x", b[i]);
	printf("\"");
}

static void str(const char *key, const char *s)
{
	printf(", \"%s\": \"%s\"", key, s ? s : "");
}

static void dump_bpf(int cmd, const union bpf_attr *a, unsigned int size)
{
	union bpf_attr x;

	memset(&x, 0, sizeof(x));
	memcpy(&x, a, size < sizeof(x) ? size : sizeof(x));
	printf("{\"cmd\": %d", cmd);
	switch (cmd) {
	case BPF_BTF_LOAD:
		hex("btf", (void *)(unsigned long)x.btf, x.btf_size);
		break;
	case BPF_MAP_CREATE:
		printf(", \"type\": %u, \"key\": %u, \"value\": %u, \"max\": %u, \"flags\": %u", x.map_type, x.key_size,
		       x.value_size, x.max_entries, x.map_flags);
		str("name", x.map_name);
		break;
	case BPF_PROG_LOAD: {
		struct bpf_insn *insns = (void *)(unsigned long)x.insns, copy[64];
		unsigned int i, n = x.insn_cnt < 64 ? x.insn_cnt : 64;

		/* map fds in ld_imm64 differ between processes */
		memcpy(copy, insns, n * sizeof(*insns));
		for (i = 0; i < n; i++)
			if (copy[i].code == (BPF_LD | BPF_IMM | BPF_DW) &&
			    (copy[i].src_reg == BPF_PSEUDO_MAP_FD || copy[i].src_reg == BPF_PSEUDO_MAP_VALUE))
				copy[i].imm = 0;
		printf(", \"type\": %u, \"expectedAttachType\": %u, \"flags\": %u, \"btf\": %s", x.prog_type,
		       x.expected_attach_type, x.prog_flags, x.prog_btf_fd ? "true" : "false");
		hex("insns", copy, n * sizeof(*insns));
		str("license", (char *)(unsigned long)x.license);
		str("name", x.prog_name);
		hex("funcInfo", (void *)(unsigned long)x.func_info, (size_t)x.func_info_cnt * x.func_info_rec_size);
		break;
	}
	case BPF_LINK_CREATE:
		printf(", \"attachType\": %u, \"targetFd\": %d", x.link_create.attach_type, (int)x.link_create.target_fd);
		if (x.link_create.attach_type == BPF_TRACE_UPROBE_MULTI) {
			printf(", \"cnt\": %u, \"pid\": %d", x.link_create.uprobe_multi.cnt, (int)x.link_create.uprobe_multi.pid);
			str("path", (char *)(unsigned long)x.link_create.uprobe_multi.path);
		}
		break;
	case BPF_OBJ_GET_INFO_BY_FD: {
		const struct bpf_btf_info *info = (void *)(unsigned long)x.info.info;

		printf(", \"infoLen\": %u, \"nameLen\": %u", x.info.info_len, info->name_len);
		break;
	}
	}
	printf("}\n");
	fflush(stdout);
}

long __real_syscall(long nr, ...);

long __wrap_syscall(long nr, ...)
{
	long a[6];
	va_list ap;
	int i;

	va_start(ap, nr);
	for (i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (dumping && nr == __NR_bpf) {
		dump_bpf((int)a[0], (const union bpf_attr *)a[1], (unsigned int)a[2]);
	} else if (dumping && nr == __NR_perf_event_open) {
		const struct perf_event_attr *pa = (const void *)a[0];

		printf("{\"cmd\": \"perf_event_open\", \"type\": %u, \"config\": %llu, \"config2\": %llu, \"cpu\": %d",
		       pa->type, (unsigned long long)pa->config, (unsigned long long)pa->config2, (int)a[2]);
		str("name", (const char *)(unsigned long)pa->config1);
		printf("}\n");
	}
	return __real_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_WARN)
		return vfprintf(stderr, fmt, ap);
	return 0;
}

static void lower_name(char *out, size_t n, const char *feat)
{
	size_t i;

	feat += strlen("FEAT_");
	for (i = 0; feat[i] && i + 1 < n; i++)
		out[i] = tolower((unsigned char)feat[i]);
	out[i] = 0;
}

int main(int argc, char **argv)
{
	static const char *const names[] = { COREBPF_FEAT_NAMES };
	char name[64];
	int res[__FEAT_CNT];
	int i;

	_Static_assert(sizeof(names) / sizeof(names[0]) == __FEAT_CNT, "feature list out of date");
	libbpf_set_print(quiet);
	dumping = argc > 1 && strcmp(argv[1], "--dump") == 0;
	/* memcg accounting first: libbpf's map and program creation asks for it (RLIMIT_MEMLOCK),
	 * so every later probe's dump holds that probe's own calls only */
	if (dumping)
		printf("{\"feature\": \"memcg_account\"}\n");
	res[FEAT_MEMCG_ACCOUNT] = feat_supported(NULL, FEAT_MEMCG_ACCOUNT);
	for (i = 0; i < __FEAT_CNT; i++) {
		if (i == FEAT_MEMCG_ACCOUNT)
			continue;
		lower_name(name, sizeof(name), names[i]);
		if (dumping)
			printf("{\"feature\": \"%s\"}\n", name);
		res[i] = feat_supported(NULL, (enum kern_feature_id)i);
	}
	dumping = 0;
	printf("{\"features\": {");
	for (i = 0; i < __FEAT_CNT; i++) {
		lower_name(name, sizeof(name), names[i]);
		printf("%s\"%s\": %s", i ? ", " : "", name, res[i] ? "true" : "false");
	}
	printf("}}\n");
	return 0;
}
