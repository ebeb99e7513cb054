/* A result whose body is JSON (wasm/result-protocol.json), written in place: room for the
 * header first, then {"part":...,...}; result_end() fills the header in once the parts'
 * places are known. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "libbpf.h"

#include "cb_export.h"
#include "core_report.h"
#include "json.h"
#include "log.h"
#include "result.h"

void result_begin(struct json *j, enum cb_result_kind kind)
{
	char room[CB_RESULT_MAX_HEADER_LEN];

	memset(room, ' ', sizeof(room));
	json_init(j);
	json_raw(j, room, cb_result_kinds[kind].header_len);
	json_obj_begin(j);
}

void result_part_begin(struct json *j, enum cb_result_kind kind, int part, uint32_t *off)
{
	json_key(j, cb_result_kinds[kind].parts[part]);
	off[part] = (uint32_t)j->len;
}

void result_part_end(struct json *j, int part, const uint32_t *off, uint32_t *len)
{
	len[part] = (uint32_t)j->len - off[part];
}

/* status: "ok", or the errno's name (the two builds number errnos differently) */
void result_end(struct json *j, enum cb_result_kind kind, int err, const uint32_t *off, const uint32_t *len)
{
	json_obj_end(j);
	if (!j->oom)
		cb_result_header(j->buf, kind, err ? cb_errno_name(err < 0 ? -err : err) : CB_RESULT_STATUS_OK, (uint32_t)j->len, off, len);
}

const char *result_error_code(int err, bool opened)
{
	if (!opened) {
		if (err == -LIBBPF_ERRNO__FORMAT || err == -LIBBPF_ERRNO__LIBELF || err == -EINVAL ||
		    err == -LIBBPF_ERRNO__RELOC || err == -ENOENT || err == -LIBBPF_ERRNO__PROG2BIG)
			return "object_format";
		return "libbpf";
	}
	if (err == -LIBBPF_ERRNO__ENDIAN)
		return "not_supported";
	if (core_report_hard_failed())
		return "relocation";
	return "libbpf";
}

void result_write_error(struct json *j, const char *code, int err, const char *what)
{
	char msg[1024], reason[512];

	if (err <= -__LIBBPF_ERRNO__START)
		libbpf_strerror(err, reason, sizeof(reason));
	else
		snprintf(reason, sizeof(reason), "%s", cb_errno_name(-err));
	snprintf(msg, sizeof(msg), "%s: %s", what, reason);
	json_obj_begin(j);
	json_kstr(j, "code", code);
	json_kstr(j, "errno", cb_errno_name(err < 0 ? -err : err));
	json_kstr(j, "message", msg);
	json_obj_end(j);
}

void result_end_with_log(struct json *j, enum cb_result_kind kind, int log_part, int err, uint32_t *off, uint32_t *len)
{
	result_part_begin(j, kind, log_part, off);
	json_strn(j, cb_log ? cb_log : "", cb_log_len);
	result_part_end(j, log_part, off, len);
	result_end(j, kind, err, off, len);
}
