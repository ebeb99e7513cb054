/* The inputs of the next run, as the cb_set_* entry points left them (inputs.c): each is
 * kept, across runs, until it is set again. */
#ifndef COREBPF_INPUTS_H
#define COREBPF_INPUTS_H

#include <stddef.h>

struct cb_inputs {
	const void *obj; /* the caller's bytes, not copied */
	size_t obj_len;
	char *obj_name;
	char *kconfig;
	int target; /* a handle of target.c */
	unsigned char features[64];
	char *kallsyms;
	size_t kallsyms_len;
	char *adjust; /* open-phase adjustments (adjust.c) */
	char release[65], version[65], machine[65];
	long page_size;
	int report_mode; /* enum cb_report_mode of cb_result.h */
};

extern struct cb_inputs cb_in;

#endif
