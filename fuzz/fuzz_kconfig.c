/* Target (c): kernel config text -- cb_set_kconfig() then cb_run() on a fixed object with
 * __kconfig externs of every kind (testdata/progs/kconfig.bpf.c: bool, tristate, int,
 * u64, char array, a missing weak one), so libbpf parses the text and fills them. */
#include "fuzz.h"

static void *obj;
static size_t obj_len;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int h = fuzz_fixed_target(FUZZ_DEFAULT_TARGET_BTF);
	char *text = fuzz_text(data, size), *out;

	if (!obj)
		obj = fuzz_slurp("FUZZ_KCONFIG_OBJECT", FUZZ_DEFAULT_KCONFIG_OBJECT, &obj_len);
	cb_set_object(obj, obj_len, "kconfig");
	cb_set_target(h);
	cb_set_log_level(0);
	cb_set_kconfig(text);
	cb_set_kallsyms(NULL, 0);
	cb_set_adjustments(NULL);
	cb_set_kernel("6.12.107", "", "x86_64", 4096);
	cb_set_features(NULL, 0);
	out = cb_run();
	fuzz_check_result(out, CB_RESULT_KIND_RUN);
	cb_free(out);
	free(text);
	return 0;
}
