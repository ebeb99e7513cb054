/* Target (a): an object opened, CO-RE-relocated against a fixed target kernel BTF and
 * turned into a load plan -- cb_run(), the wasm module's relocate entry point. The plan
 * writer is part of cb_run (plan_write), so this target also fuzzes the plan output. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int h = fuzz_fixed_target(FUZZ_DEFAULT_TARGET_BTF);
	char *out;

	cb_set_object(data, size, "fuzz");
	cb_set_target(h);
	cb_set_log_level(1);
	cb_set_kconfig(NULL);
	cb_set_kallsyms(NULL, 0);
	cb_set_adjustments(NULL);
	cb_set_kernel("6.12.107", "", "x86_64", 4096);
	cb_set_features(NULL, 0);
	out = cb_run();
	fuzz_check_result(out, CB_RESULT_KIND_RUN);
	cb_free(out);
	return 0;
}
