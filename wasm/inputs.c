/* The cb_set_* entry points: the host sets the object and the facts of the target kernel
 * here before cb_run() or cb_open() (run.c) reads them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cb_export.h"
#include "cb_result.h"
#include "inputs.h"

struct cb_inputs cb_in = { .report_mode = CB_REPORT_FULL };

static void set_str(char **dst, const char *s)
{
	free(*dst);
	*dst = s ? strdup(s) : NULL;
}

CB_EXPORT void cb_set_object(const void *data, size_t len, const char *name)
{
	cb_in.obj = data;
	cb_in.obj_len = len;
	set_str(&cb_in.obj_name, name);
}

CB_EXPORT void cb_set_target(int handle) { cb_in.target = handle; }

/* what the report part holds (enum cb_report_mode of cb_result.h; unknown: full) */
CB_EXPORT void cb_set_report_mode(int mode)
{
	cb_in.report_mode = mode > CB_REPORT_FULL && mode < CB_REPORT_NR_MODES ? mode : CB_REPORT_FULL;
}
CB_EXPORT void cb_set_kconfig(const char *text) { set_str(&cb_in.kconfig, text); }
CB_EXPORT void cb_set_adjustments(const char *text) { set_str(&cb_in.adjust, text); }

CB_EXPORT void cb_set_kallsyms(const char *text, size_t len)
{
	free(cb_in.kallsyms);
	cb_in.kallsyms = NULL;
	cb_in.kallsyms_len = 0;
	if (text) {
		cb_in.kallsyms = malloc(len + 1);
		memcpy(cb_in.kallsyms, text, len);
		cb_in.kallsyms[len] = 0;
		cb_in.kallsyms_len = len;
	}
}

CB_EXPORT void cb_set_kernel(const char *release, const char *version, const char *machine, long page_size)
{
	snprintf(cb_in.release, sizeof(cb_in.release), "%s", release ? release : "");
	snprintf(cb_in.version, sizeof(cb_in.version), "%s", version ? version : "");
	snprintf(cb_in.machine, sizeof(cb_in.machine), "%s", machine && *machine ? machine : "x86_64");
	cb_in.page_size = page_size > 0 ? page_size : 4096;
}

/* profile[i] for libbpf feature i: 0 = default (supported), 1 = supported, 2 = missing */
CB_EXPORT void cb_set_features(const unsigned char *profile, size_t len)
{
	memset(cb_in.features, 0, sizeof(cb_in.features));
	if (profile)
		memcpy(cb_in.features, profile, len < sizeof(cb_in.features) ? len : sizeof(cb_in.features));
}
