/* Shared by the fuzz targets: the glue's exported entry points (the CB_EXPORT functions of
 * wasm/, the same functions the wasm module exports, CB_EXPORTS in mk/corebpf.mk) and the
 * checks every target applies to their results. */
#ifndef COREBPF_FUZZ_H
#define COREBPF_FUZZ_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../wasm/cb_result.h"

int cb_target_register(const void *data, size_t len);
int cb_target_register_owned(void *data, size_t len);
void cb_target_release(int h);
const char *cb_target_error(void);
void cb_set_object(const void *data, size_t len, const char *name);
void cb_set_target(int handle);
void cb_set_log_level(int level);
void cb_set_kconfig(const char *text);
void cb_set_kallsyms(const char *text, size_t len);
void cb_set_kernel(const char *release, const char *version, const char *machine, long page_size);
void cb_set_features(const unsigned char *profile, size_t len);
void cb_set_adjustments(const char *text);
char *cb_run(void);
char *cb_open(void);
void cb_free(void *p);

/* a file the target needs besides the input (fixed object, target BTF): its path comes
 * from the environment, else the default the Makefile compiled in */
static inline void *fuzz_slurp(const char *env, const char *dflt, size_t *len)
{
	const char *path = getenv(env) ? getenv(env) : dflt;
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		fprintf(stderr, "fuzz: cannot read %s (set %s)\n", path, env);
		exit(2);
	}
	buf = malloc(n + 1);
	if (!buf || fread(buf, 1, n, f) != (size_t)n) {
		fprintf(stderr, "fuzz: cannot read %s\n", path);
		exit(2);
	}
	fclose(f);
	buf[n] = 0;
	*len = n;
	return buf;
}

/* a target BTF registered once per process, as the worker keeps it across relocations */
static inline int fuzz_fixed_target(const char *dflt)
{
	static int h;
	size_t len;
	void *btf;

	if (h > 0)
		return h;
	btf = fuzz_slurp("FUZZ_TARGET_BTF", dflt, &len);
	h = cb_target_register(btf, len);
	free(btf);
	if (h <= 0) {
		fprintf(stderr, "fuzz: fixed target BTF rejected: %s\n", cb_target_error());
		exit(2);
	}
	return h;
}

/* The wasm module cannot grow past 1 GiB (WASM_MAX_MEMORY, mk/corebpf.mk): there a huge
 * allocation fails, libbpf reports ENOMEM and the JSON writer returns NULL, which the worker
 * turns into a typed error (src/worker/wasm.ts take()). Model that bound here instead of
 * letting libFuzzer call a 2 GiB .bss an out-of-memory crash: allocations above 512 MiB
 * fail (below the wasm limit, so ASan's own overhead stays under libFuzzer's 2 GiB RSS
 * limit). */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1:max_allocation_size_mb=512";
}

/* What the TypeScript side relies on (src/worker/service.ts, src/worker/result.ts): a result
 * header of this version and the export's kind (wasm/cb_result.h) whose size is the text's
 * and whose parts lie in it, and a body that closes. cb_run(): a report that is an object, a
 * plan that is an object or null, a log that is a string. cb_open(): an error that is null or
 * an object, an object that is an object or null (null exactly when there is an error), a log
 * that is a string. Either: a status that is not ok exactly when the plan (object) is null.
 * Anything else is a bug even without a sanitizer report: abort so libFuzzer keeps the input. */
static inline void fuzz_check_result(const char *out, enum cb_result_kind kind)
{
	char status[CB_RESULT_STATUS_WIDTH + 1];
	uint32_t off[CB_RESULT_MAX_PARTS], len[CB_RESULT_MAX_PARTS];
	const char *first, *second, *log;
	size_t n;
	int ok;

	if (!out)
		return; /* out of memory: the worker's typed "heap exhausted" error */
	n = strlen(out);
	if (cb_result_parse(out, n, kind, status, off, len)) {
		fprintf(stderr, "fuzz: no result header of version %d and kind %s: %.*s\n", CB_RESULT_VERSION,
			cb_result_kinds[kind].name, (int)cb_result_kinds[kind].header_len, out);
		abort();
	}
	/* run: report, plan, log; open: error, object, log */
	first = out + off[0];
	second = out + off[1];
	log = out + off[2];
	ok = !strcmp(status, CB_RESULT_STATUS_OK);
	if (!len[0] || !len[1] || len[2] < 2 || *log != '"' || out[n - 1] != '}' ||
	    (second[0] != '{' && strncmp(second, "null", 4)) || ok == !strncmp(second, "null", 4) ||
	    (kind == CB_RESULT_KIND_RUN && (first[0] != '{' || first[len[0] - 1] != '}')) ||
	    (kind == CB_RESULT_KIND_OPEN && ((first[0] != '{' && strncmp(first, "null", 4)) || ok != !strncmp(first, "null", 4)))) {
		fprintf(stderr, "fuzz: malformed result parts: %.*s\n", (int)cb_result_kinds[kind].header_len, out);
		abort();
	}
}

/* the input as C text: the API takes kconfig and adjustments as strings (the wasm side
 * gets them from JS strings, which stop at nothing but the worker copies them with a NUL) */
static inline char *fuzz_text(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	memcpy(s, data, size);
	s[size] = 0;
	return s;
}
#endif
