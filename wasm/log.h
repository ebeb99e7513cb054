/* libbpf's messages, captured (log.c): the "log" part of a result, and what the CO-RE
 * report and a target's parse error quote from it. */
#ifndef COREBPF_LOG_H
#define COREBPF_LOG_H

#include <stddef.h>

/* the messages since cb_log_begin(), NUL-terminated (NULL until libbpf's first message) */
extern char *cb_log;
extern size_t cb_log_len;

/* empty the log and point libbpf's print callback at it */
void cb_log_begin(void);
/* whether libbpf's debug messages are kept (cb_set_log_level) */
int cb_debug_messages(void);

#endif
