/* libbpf's messages captured into one growing buffer, at the level the caller chose: the
 * log part of a result (run.c) and what the CO-RE report matches against (core_report.c). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libbpf.h"

#include "cb_export.h"
#include "log.h"

char *cb_log;
size_t cb_log_len;
/* libbpf messages kept: LIBBPF_WARN (0), INFO (1) or DEBUG (2) */
static int in_log_level = LIBBPF_INFO;
static size_t cb_log_cap;

static int print_fn(enum libbpf_print_level level, const char *f, va_list ap)
{
	char tmp[1024];
	int n;

	if ((int)level > in_log_level)
		return 0;
	n = vsnprintf(tmp, sizeof(tmp), f, ap);
	if (n < 0)
		return 0;
	if ((size_t)n >= sizeof(tmp))
		n = sizeof(tmp) - 1;
	if (cb_log_len + n + 1 > cb_log_cap) {
		size_t cap = cb_log_cap ? cb_log_cap * 2 : 65536;
		char *nb;

		while (cb_log_len + n + 1 > cap)
			cap *= 2;
		nb = realloc(cb_log, cap);
		if (!nb)
			return 0;
		cb_log = nb;
		cb_log_cap = cap;
	}
	memcpy(cb_log + cb_log_len, tmp, n);
	cb_log_len += n;
	cb_log[cb_log_len] = 0;
	return n;
}

void cb_log_begin(void)
{
	cb_log_len = 0;
	if (cb_log)
		cb_log[0] = 0;
	libbpf_set_print(print_fn);
}

CB_EXPORT void cb_set_log_level(int level) { in_log_level = level; }
int cb_debug_messages(void) { return in_log_level >= LIBBPF_DEBUG; }
