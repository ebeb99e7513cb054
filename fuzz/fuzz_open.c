/* Target (e): the open phase -- cb_open(), bpf_object__open_mem() only, and the opened
 * object's programs, maps and BTF written as JSON (adjust_write_spec), which is what
 * BpfObject.open() shows before anything is relocated. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *out;

	cb_set_object(data, size, "fuzz");
	cb_set_log_level(1);
	out = cb_open();
	fuzz_check_result(out, CB_RESULT_KIND_OPEN);
	cb_free(out);
	return 0;
}
