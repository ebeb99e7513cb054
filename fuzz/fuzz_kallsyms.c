/* Target (d): /proc/kallsyms text -- cb_set_kallsyms() then cb_run() on a fixed object
 * with __ksym externs (testdata/progs/ksyms.bpf.c): a typeless one (const void) makes
 * libbpf read the virtual kernel's /proc/kallsyms (vk_host.c serves it from this input). */
#include "fuzz.h"

static void *obj;
static size_t obj_len;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int h = fuzz_fixed_target(FUZZ_DEFAULT_SMALL_TARGET_BTF);
	char *out;

	if (!obj)
		obj = fuzz_slurp("FUZZ_KSYMS_OBJECT", FUZZ_DEFAULT_KSYMS_OBJECT, &obj_len);
	cb_set_object(obj, obj_len, "ksyms");
	cb_set_target(h);
	cb_set_log_level(0);
	cb_set_kconfig(NULL);
	cb_set_kallsyms((const char *)data, size);
	cb_set_adjustments(NULL);
	cb_set_kernel("6.12.107", "", "x86_64", 4096);
	cb_set_features(NULL, 0);
	out = cb_run();
	fuzz_check_result(out, CB_RESULT_KIND_RUN);
	cb_free(out);
	return 0;
}
