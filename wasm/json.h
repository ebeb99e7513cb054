/* A small JSON writer for the plan: keys in the order written, no floats, binary as base64. */
#ifndef COREBPF_JSON_H
#define COREBPF_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json {
	char *buf;
	size_t len, cap;
	bool need_comma;
	bool oom;
};

void json_init(struct json *j);
void json_free(struct json *j);
/* take ownership of the NUL-terminated text (NULL when out of memory) */
char *json_take(struct json *j);

void json_obj_begin(struct json *j);
void json_obj_end(struct json *j);
void json_arr_begin(struct json *j);
void json_arr_end(struct json *j);
void json_key(struct json *j, const char *key);
/* bytes as they are, outside the JSON grammar (the result header before the text) */
void json_raw(struct json *j, const char *s, size_t n);

void json_str(struct json *j, const char *s);
void json_strn(struct json *j, const char *s, size_t n);
void json_u64(struct json *j, uint64_t v);
void json_i64(struct json *j, int64_t v);
void json_bool(struct json *j, bool v);
void json_null(struct json *j);
void json_base64(struct json *j, const void *data, size_t len);
/* a u64 as a decimal string: JSON numbers lose precision past 2^53 */
void json_u64_str(struct json *j, uint64_t v);

/* key + value shorthands */
void json_kstr(struct json *j, const char *key, const char *s);
void json_ku64(struct json *j, const char *key, uint64_t v);
void json_ki64(struct json *j, const char *key, int64_t v);
void json_kbool(struct json *j, const char *key, bool v);
void json_kb64(struct json *j, const char *key, const void *data, size_t len);

#endif
