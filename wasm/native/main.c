/* corebpf-native: the same glue and libbpf compiled with gcc. The oracle that the wasm
 * build must match byte for byte, and the baseline of `npm run bench`.
 *
 *   corebpf-native OBJECT TARGET_BTF [--name N] [--kconfig FILE] [--release R]
 *                  [--kernel-version V] [--machine M] [--page-size N] [--features HEX]
 *                  [--no-log] [--log-level 0|1|2] [--report-mode full|failed]
 *                  [--repeat N] [--warm]
 *
 * Prints the result of cb_run() (the last run's: the header of wasm/cb_result.h, then the
 * JSON). With --repeat, prints per-run wall times in microseconds to stderr as
 * "cold|warm N us". */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../cb_result.h"

int cb_target_register(const void *data, size_t len);
int cb_target_register_owned(void *data, size_t len);
void cb_target_release(int h);
const char *cb_target_error(void);
void cb_set_object(const void *data, size_t len, const char *name);
void cb_set_target(int handle);
void cb_set_log_level(int level);
void cb_set_report_mode(int mode);
void cb_set_kconfig(const char *text);
void cb_set_kernel(const char *release, const char *version, const char *machine, long page_size);
void cb_set_features(const unsigned char *profile, size_t len);
char *cb_run(void);

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, r;

	if (!f) {
		perror(path);
		exit(2);
	}
	do {
		if (n + 65536 > cap) {
			cap = cap ? cap * 2 : 1 << 20;
			buf = realloc(buf, cap + 1);
		}
		r = fread(buf + n, 1, cap - n, f);
		n += r;
	} while (r > 0);
	fclose(f);
	buf[n] = 0;
	*len = n;
	return buf;
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* the result with its log part emptied ("" and the header saying so), so outputs compare
 * without libbpf's chatter; test/helpers.ts does the same to the wasm's (withoutLog) */
static char *strip_log(char *out)
{
	char status[CB_RESULT_STATUS_WIDTH + 1], *s;
	uint32_t off[CB_RESULT_RUN_NR_PARTS], len[CB_RESULT_RUN_NR_PARTS];
	size_t n = strlen(out), keep;

	if (cb_result_parse(out, n, CB_RESULT_KIND_RUN, status, off, len)) {
		fprintf(stderr, "corebpf-native: cb_run() wrote no result header of version %d and kind run\n", CB_RESULT_VERSION);
		exit(1);
	}
	keep = off[CB_RESULT_RUN_LOG];
	len[CB_RESULT_RUN_LOG] = 2;
	s = malloc(keep + 4);
	memcpy(s, out, keep);
	memcpy(s + keep, "\"\"}", 4);
	cb_result_header(s, CB_RESULT_KIND_RUN, status, (uint32_t)keep + 3, off, len);
	free(out);
	return s;
}

int main(int argc, char **argv)
{
	const char *obj_path = NULL, *btf_path = NULL, *name = NULL, *kconfig_path = NULL;
	const char *release = "", *version = "", *machine = "x86_64";
	unsigned char features[64] = { 0 };
	size_t nfeat = 0, obj_len, btf_len, kc_len;
	long page_size = 4096;
	int repeat = 1, warm = 0, no_log = 0, log_level = 1, report_mode = CB_REPORT_FULL, i, h = -1;
	char *obj, *btf, *kconfig = NULL, *out = NULL;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--name") && i + 1 < argc) name = argv[++i];
		else if (!strcmp(a, "--kconfig") && i + 1 < argc) kconfig_path = argv[++i];
		else if (!strcmp(a, "--release") && i + 1 < argc) release = argv[++i];
		else if (!strcmp(a, "--kernel-version") && i + 1 < argc) version = argv[++i];
		else if (!strcmp(a, "--machine") && i + 1 < argc) machine = argv[++i];
		else if (!strcmp(a, "--page-size") && i + 1 < argc) page_size = atol(argv[++i]);
		else if (!strcmp(a, "--repeat") && i + 1 < argc) repeat = atoi(argv[++i]);
		else if (!strcmp(a, "--warm")) warm = 1;
		else if (!strcmp(a, "--no-log")) no_log = 1;
		else if (!strcmp(a, "--log-level") && i + 1 < argc) log_level = atoi(argv[++i]);
		else if (!strcmp(a, "--report-mode") && i + 1 < argc) {
			const char *m = argv[++i];

			for (report_mode = 0; report_mode < CB_REPORT_NR_MODES && strcmp(cb_report_mode_names[report_mode], m); report_mode++)
				;
			if (report_mode == CB_REPORT_NR_MODES) {
				fprintf(stderr, "%s: unknown report mode '%s'\n", argv[0], m);
				return 2;
			}
		}
		else if (!strcmp(a, "--features") && i + 1 < argc) {
			const char *hx = argv[++i];

			for (nfeat = 0; hx[2 * nfeat] && hx[2 * nfeat + 1] && nfeat < sizeof(features); nfeat++)
				sscanf(hx + 2 * nfeat, "%2hhx", &features[nfeat]);
		} else if (!obj_path) obj_path = a;
		else if (!btf_path) btf_path = a;
		else {
			fprintf(stderr, "usage: %s OBJECT TARGET_BTF [options]\n", argv[0]);
			return 2;
		}
	}
	if (!obj_path || !btf_path) {
		fprintf(stderr, "usage: %s OBJECT TARGET_BTF [options]\n", argv[0]);
		return 2;
	}
	obj = slurp(obj_path, &obj_len);
	btf = slurp(btf_path, &btf_len);
	if (kconfig_path)
		kconfig = slurp(kconfig_path, &kc_len);
	if (!name) {
		const char *b = strrchr(obj_path, '/');
		static char nb[256];
		char *dot;

		snprintf(nb, sizeof(nb), "%s", b ? b + 1 : obj_path);
		if ((dot = strchr(nb, '.')))
			*dot = 0;
		name = nb;
	}

	for (i = 0; i < repeat; i++) {
		double t0 = now_us();

		if (h < 0 || !warm) {
			if (h > 0)
				cb_target_release(h);
			/* as the worker does: the BTF copied into a buffer of its own, which libbpf keeps */
			void *own = malloc(btf_len ? btf_len : 1);

			if (!own) {
				fprintf(stderr, "target: out of memory\n");
				return 2;
			}
			memcpy(own, btf, btf_len);
			h = cb_target_register_owned(own, btf_len);
			if (h < 0) {
				fprintf(stderr, "target: %s\n", cb_target_error());
				return 2;
			}
		}
		cb_set_object(obj, obj_len, name);
		cb_set_target(h);
		cb_set_log_level(log_level);
		cb_set_report_mode(report_mode);
		cb_set_kconfig(kconfig);
		cb_set_kernel(release, version, machine, page_size);
		cb_set_features(features, nfeat);
		free(out);
		out = cb_run();
		if (repeat > 1)
			fprintf(stderr, "%s %d %.1f us\n", warm && i ? "warm" : "cold", i, now_us() - t0);
	}
	if (!out)
		return 1;
	if (no_log)
		out = strip_log(out);
	fputs(out, stdout);
	fputc('\n', stdout);
	return 0;
}
