/* Writing a result (result.c): the header of wasm/cb_result.h in front of a JSON body of
 * parts, and the error object a result's report or error part holds. */
#ifndef COREBPF_RESULT_H
#define COREBPF_RESULT_H

#include <stdbool.h>
#include <stdint.h>

#include "cb_result.h"

struct json;

void result_begin(struct json *j, enum cb_result_kind kind);
/* "part": and where its value starts */
void result_part_begin(struct json *j, enum cb_result_kind kind, int part, uint32_t *off);
void result_part_end(struct json *j, int part, const uint32_t *off, uint32_t *len);
/* the log part: libbpf's messages of this call (log.c), then the end of the body (result_end) */
void result_end_with_log(struct json *j, enum cb_result_kind kind, int log_part, int err, uint32_t *off, uint32_t *len);
/* close the body and fill the header in; err: 0 or the run's -errno */
void result_end(struct json *j, enum cb_result_kind kind, int err, const uint32_t *off, const uint32_t *len);

/* the error's code for the host: what failed, from libbpf's -errno and how far it got */
const char *result_error_code(int err, bool opened);
void result_write_error(struct json *j, const char *code, int err, const char *what);

#endif
