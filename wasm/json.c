#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

void json_init(struct json *j)
{
	memset(j, 0, sizeof(*j));
}

void json_free(struct json *j)
{
	free(j->buf);
	memset(j, 0, sizeof(*j));
}

char *json_take(struct json *j)
{
	char *s = j->oom ? NULL : j->buf;

	if (j->oom)
		free(j->buf);
	memset(j, 0, sizeof(*j));
	return s;
}

/* No result text grows past this: the wasm heap is 1 GiB (WASM_MAX_MEMORY) and holds the
 * object, libbpf's state and the text while it doubles, so a longer text could not be
 * built there anyway. A 2 GiB .bss, say, ends as "out of memory" (NULL from json_take,
 * the worker's typed error) without first encoding gigabytes of zeros. */
#define JSON_MAX_LEN ((size_t)256 << 20)

static void put(struct json *j, const char *s, size_t n)
{
	if (j->oom)
		return;
	if (j->len + n + 1 > JSON_MAX_LEN) {
		j->oom = true;
		return;
	}
	if (j->len + n + 1 > j->cap) {
		size_t cap = j->cap ? j->cap : 4096;
		char *nb;

		while (j->len + n + 1 > cap)
			cap *= 2;
		nb = realloc(j->buf, cap);
		if (!nb) {
			j->oom = true;
			return;
		}
		j->buf = nb;
		j->cap = cap;
	}
	memcpy(j->buf + j->len, s, n);
	j->len += n;
	j->buf[j->len] = 0;
}

void json_raw(struct json *j, const char *s, size_t n)
{
	put(j, s, n);
}

static void puts_(struct json *j, const char *s)
{
	put(j, s, strlen(s));
}

/* a value or key starts: separate it from the previous one */
static void sep(struct json *j)
{
	if (j->need_comma)
		put(j, ",", 1);
	j->need_comma = true;
}

void json_obj_begin(struct json *j)
{
	sep(j);
	put(j, "{", 1);
	j->need_comma = false;
}

void json_obj_end(struct json *j)
{
	put(j, "}", 1);
	j->need_comma = true;
}

void json_arr_begin(struct json *j)
{
	sep(j);
	put(j, "[", 1);
	j->need_comma = false;
}

void json_arr_end(struct json *j)
{
	put(j, "]", 1);
	j->need_comma = true;
}

static void quoted(struct json *j, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, run = 0;

	put(j, "\"", 1);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[6];
		size_t elen;

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			continue;
		/* flush the run of plain characters before this one */
		put(j, s + run, i - run);
		run = i + 1;
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			elen = 2;
		} else if (c == '\n') {
			esc[0] = '\\';
			esc[1] = 'n';
			elen = 2;
		} else if (c == '\t') {
			esc[0] = '\\';
			esc[1] = 't';
			elen = 2;
		} else {
			/* bytes, not code points: non-ASCII is escaped one byte at a time */
			esc[0] = '\\'; esc[1] = 'u'; esc[2] = '0'; esc[3] = '0';
			esc[4] = hex[c >> 4]; esc[5] = hex[c & 15];
			elen = 6;
		}
		put(j, esc, elen);
	}
	put(j, s + run, n - run);
	put(j, "\"", 1);
}

void json_key(struct json *j, const char *key)
{
	sep(j);
	quoted(j, key, strlen(key));
	put(j, ":", 1);
	j->need_comma = false;
}

void json_str(struct json *j, const char *s)
{
	if (!s) {
		json_null(j);
		return;
	}
	json_strn(j, s, strlen(s));
}

void json_strn(struct json *j, const char *s, size_t n)
{
	sep(j);
	quoted(j, s, n);
}

/* decimal digits of v, right-aligned in b[0..24); returns the first digit (no printf:
 * numbers are most of a plan and snprintf was a large share of writing it) */
static char *digits(char b[24], uint64_t v)
{
	char *p = b + 23;

	*p = 0;
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return p;
}

void json_u64(struct json *j, uint64_t v)
{
	char b[24];

	sep(j);
	puts_(j, digits(b, v));
}

void json_i64(struct json *j, int64_t v)
{
	char b[24], *p;

	sep(j);
	p = digits(b, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v);
	if (v < 0)
		*--p = '-';
	puts_(j, p);
}

void json_u64_str(struct json *j, uint64_t v)
{
	char b[24];

	json_str(j, digits(b, v));
}

void json_bool(struct json *j, bool v)
{
	sep(j);
	puts_(j, v ? "true" : "false");
}

void json_null(struct json *j)
{
	sep(j);
	puts_(j, "null");
}

void json_base64(struct json *j, const void *data, size_t len)
{
	static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = data;
	char out[4];
	size_t i;

	sep(j);
	put(j, "\"", 1);
	for (i = 0; i + 2 < len && !j->oom;) {
		char chunk[256];
		size_t k = 0;

		/* encode up to 192 bytes per put */
		for (; i + 2 < len && k + 4 <= sizeof(chunk); i += 3, k += 4) {
			chunk[k] = tbl[p[i] >> 2];
			chunk[k + 1] = tbl[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
			chunk[k + 2] = tbl[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)];
			chunk[k + 3] = tbl[p[i + 2] & 63];
		}
		put(j, chunk, k);
	}
	if (i < len) {
		out[0] = tbl[p[i] >> 2];
		if (i + 1 < len) {
			out[1] = tbl[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
			out[2] = tbl[(p[i + 1] & 15) << 2];
		} else {
			out[1] = tbl[(p[i] & 3) << 4];
			out[2] = '=';
		}
		out[3] = '=';
		put(j, out, 4);
	}
	put(j, "\"", 1);
}

void json_kstr(struct json *j, const char *key, const char *s) { json_key(j, key); json_str(j, s); }
void json_ku64(struct json *j, const char *key, uint64_t v) { json_key(j, key); json_u64(j, v); }
void json_ki64(struct json *j, const char *key, int64_t v) { json_key(j, key); json_i64(j, v); }
void json_kbool(struct json *j, const char *key, bool v) { json_key(j, key); json_bool(j, v); }
void json_kb64(struct json *j, const char *key, const void *data, size_t len) { json_key(j, key); json_base64(j, data, len); }
