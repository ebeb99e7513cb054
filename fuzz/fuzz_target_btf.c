/* Target (b): target kernel BTF parsing -- cb_target_register_owned() (the worker's way: a
 * buffer of its own that libbpf keeps) and cb_target_register() (libbpf copies), raw BTF or
 * an ELF file with a .BTF section, then the candidate name index built over it (cand_index.c). */
#include "fuzz.h"

static void check(int h)
{
	if (h > 0) {
		cb_target_release(h);
	} else if (!cb_target_error()[0]) {
		fprintf(stderr, "fuzz: target rejected (%d) without a message\n", h);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	void *own = malloc(size ? size : 1);

	if (!own)
		return 0;
	memcpy(own, data, size);
	check(cb_target_register_owned(own, size));
	check(cb_target_register(data, size));
	return 0;
}
