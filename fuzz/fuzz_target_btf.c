/* Target (b): target kernel BTF parsing -- cb_target_register(), raw BTF or an ELF file
 * with a .BTF section, then the candidate name index built over it (cand_index.c). */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int h = cb_target_register(data, size);

	if (h > 0) {
		cb_target_release(h);
	} else if (!cb_target_error()[0]) {
		fprintf(stderr, "fuzz: target rejected (%d) without a message\n", h);
		abort();
	}
	return 0;
}
