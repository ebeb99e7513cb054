/* The open phase: what user space may change between bpf_object__open() and
 * bpf_object__load(), applied with libbpf's own setters (bpf_program__set_*,
 * bpf_map__set_*), and the opened object's attributes as JSON for the host to read
 * before anything is relocated.
 *
 * Adjustments come as text, one per line, fields separated by tabs (src/adjust.ts
 * writes it):
 *   prog <TAB> NAME <TAB> autoload|attach_prog|attach_target|type|expected_attach_type|log_level <TAB> VALUE
 * (attach_prog: the slot of a loaded target program, target_prog.c; it comes before the
 * program's attach_target line, which then names a function of that program)
 *   map  <TAB> NAME <TAB> max_entries|value_size|key_size|map_flags|type|numa_node|
 *                         map_extra|autocreate|pin_path|inner.<attr> <TAB> VALUE
 * A failing setter stops with libbpf's error, after a libbpf-style line saying which
 * adjustment and why. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "btf.h"
#include "libbpf.h"
#include "libbpf_internal.h"

#include "adjust.h"
#include "vk.h"
#include "json.h"

static unsigned long long num(const char *s, int *bad)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end)
		*bad = 1;
	return v;
}

static const char *reason(int err)
{
	switch (-err) {
	case ESRCH: return " (no such function or tracepoint in the target kernel's BTF)";
	case EBUSY: return " (the object is already loaded)";
	case EOPNOTSUPP: return " (not possible for this map type)";
	default: return "";
	}
}

static int fail(const char *what, const char *name, const char *attr, const char *value, int err)
{
	if (err > 0)
		err = -err;
	/* the number is the wasm libc's: the worker writes it as Linux's number and name */
	libbpf_print(LIBBPF_WARN, "libbpf: %s '%s': cannot set %s to '%s': %d%s\n", what, name, attr, value,
		     err, reason(err));
	return err;
}

/* the program whose attach_prog line came last and the fd it named: its attach_target
 * line (next, src/adjust.ts orders them) resolves the function in that program's BTF */
static struct bpf_program *tprog_prog;
static int tprog_fd;

static int prog_adjust(struct bpf_object *obj, const char *name, const char *attr, const char *value)
{
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, name);
	int bad = 0, err;
	unsigned long long v = 0;

	if (!prog) {
		libbpf_print(LIBBPF_WARN, "libbpf: object '%s' has no program '%s'\n", bpf_object__name(obj), name);
		return -ENOENT;
	}
	if (strcmp(attr, "attach_target"))
		v = num(value, &bad);
	if (bad)
		return fail("prog", name, attr, value, -EINVAL);
	if (!strcmp(attr, "autoload"))
		err = bpf_program__set_autoload(prog, v != 0);
	else if (!strcmp(attr, "attach_prog")) {
		int fd = v <= 0x7fffffff ? vk_tprog_fd((int)v) : -1;

		/* with no function yet: the section's name is resolved at load, as libbpf does */
		err = fd < 0 ? -EINVAL : bpf_program__set_attach_target(prog, fd, NULL);
		tprog_prog = err ? NULL : prog;
		tprog_fd = fd;
	} else if (!strcmp(attr, "attach_target"))
		err = bpf_program__set_attach_target(prog, prog == tprog_prog ? tprog_fd : 0, value);
	else if (!strcmp(attr, "type"))
		err = bpf_program__set_type(prog, (enum bpf_prog_type)v);
	else if (!strcmp(attr, "expected_attach_type"))
		err = bpf_program__set_expected_attach_type(prog, (enum bpf_attach_type)v);
	else if (!strcmp(attr, "log_level"))
		err = bpf_program__set_log_level(prog, (__u32)v);
	else
		err = -EINVAL;
	return err ? fail("prog", name, attr, value, err) : 0;
}

static int map_set(struct bpf_map *map, const char *attr, const char *value)
{
	int bad = 0;
	unsigned long long v = 0;

	if (!strcmp(attr, "pin_path"))
		return bpf_map__set_pin_path(map, *value ? value : NULL);
	v = num(value, &bad);
	if (bad)
		return -EINVAL;
	if (!strcmp(attr, "max_entries"))
		return bpf_map__set_max_entries(map, (__u32)v);
	if (!strcmp(attr, "value_size"))
		return bpf_map__set_value_size(map, (__u32)v);
	if (!strcmp(attr, "key_size"))
		return bpf_map__set_key_size(map, (__u32)v);
	if (!strcmp(attr, "map_flags"))
		return bpf_map__set_map_flags(map, (__u32)v);
	if (!strcmp(attr, "type"))
		return bpf_map__set_type(map, (enum bpf_map_type)v);
	if (!strcmp(attr, "numa_node"))
		return bpf_map__set_numa_node(map, (__u32)v);
	if (!strcmp(attr, "map_extra"))
		return bpf_map__set_map_extra(map, (__u64)v);
	if (!strcmp(attr, "autocreate"))
		return bpf_map__set_autocreate(map, v != 0);
	return -EINVAL;
}

static int map_adjust(struct bpf_object *obj, const char *name, const char *attr, const char *value)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj, name);
	int err;

	if (!map) {
		libbpf_print(LIBBPF_WARN, "libbpf: object '%s' has no map '%s'\n", bpf_object__name(obj), name);
		return -ENOENT;
	}
	if (!strncmp(attr, "inner.", 6)) {
		/* the inner-map template libbpf made from __array(values, ...) */
		struct bpf_map *inner = bpf_map__inner_map(map);

		if (!inner) {
			libbpf_print(LIBBPF_WARN, "libbpf: map '%s': has no inner map (not a map-in-map with a BTF-defined inner map)\n", name);
			return -EINVAL;
		}
		err = map_set(inner, attr + 6, value);
	} else {
		err = map_set(map, attr, value);
	}
	return err ? fail("map", name, attr, value, err) : 0;
}

int adjust_apply(struct bpf_object *obj, const char *text)
{
	char *copy, *line, *save = NULL;
	int err = 0;

	tprog_prog = NULL;
	if (!text || !*text)
		return 0;
	copy = strdup(text);
	if (!copy)
		return -ENOMEM;
	for (line = strtok_r(copy, "\n", &save); line && !err; line = strtok_r(NULL, "\n", &save)) {
		char *f[4] = { 0 }, *p = line;
		int n;

		for (n = 0; n < 4; n++) {
			f[n] = p;
			p = n < 3 ? strchr(p, '\t') : NULL;
			if (!p)
				break;
			*p++ = 0;
		}
		if (n != 3) {
			libbpf_print(LIBBPF_WARN, "libbpf: malformed adjustment '%s'\n", line);
			err = -EINVAL;
		} else if (!strcmp(f[0], "prog")) {
			err = prog_adjust(obj, f[1], f[2], f[3]);
		} else if (!strcmp(f[0], "map")) {
			err = map_adjust(obj, f[1], f[2], f[3]);
		} else {
			libbpf_print(LIBBPF_WARN, "libbpf: unknown adjustment kind '%s'\n", f[0]);
			err = -EINVAL;
		}
	}
	free(copy);
	return err;
}

/* ---- the opened object, for the host ------------------------------------------------- */

static void map_attrs(struct json *j, const struct bpf_map *map)
{
	json_ku64(j, "type", bpf_map__type(map));
	json_ku64(j, "keySize", bpf_map__key_size(map));
	json_ku64(j, "valueSize", bpf_map__value_size(map));
	json_ku64(j, "maxEntries", bpf_map__max_entries(map));
	json_ku64(j, "flags", bpf_map__map_flags(map));
}

void adjust_write_spec(struct json *j, struct bpf_object *obj, bool big_endian)
{
	struct bpf_program *prog;
	struct bpf_map *map;
	const struct btf *btf = bpf_object__btf(obj);

	json_obj_begin(j);
	json_kstr(j, "object", bpf_object__name(obj));
	json_kstr(j, "byteOrder", big_endian ? "big" : "little");
	json_key(j, "btf");
	if (btf) {
		__u32 sz;
		const void *raw = btf__raw_data(btf, &sz); /* in the object's byte order */

		if (raw)
			json_base64(j, raw, sz);
		else
			json_null(j);
	} else {
		json_null(j);
	}
	json_key(j, "programs");
	json_arr_begin(j);
	bpf_object__for_each_program(prog, obj) {
		json_obj_begin(j);
		json_kstr(j, "name", bpf_program__name(prog));
		json_kstr(j, "section", bpf_program__section_name(prog));
		json_ku64(j, "type", bpf_program__type(prog));
		json_ku64(j, "expectedAttachType", bpf_program__expected_attach_type(prog));
		json_kbool(j, "autoload", bpf_program__autoload(prog));
		json_ku64(j, "logLevel", bpf_program__log_level(prog));
		json_ku64(j, "insnCount", bpf_program__insn_cnt(prog));
		json_obj_end(j);
	}
	json_arr_end(j);
	json_key(j, "maps");
	json_arr_begin(j);
	bpf_object__for_each_map(map, obj) {
		struct bpf_map *inner = bpf_map__inner_map(map);
		size_t isz = 0;
		const void *init;

		json_obj_begin(j);
		json_kstr(j, "name", bpf_map__name(map));
		map_attrs(j, map);
		json_ku64(j, "numaNode", bpf_map__numa_node(map));
		json_key(j, "mapExtra");
		json_u64_str(j, bpf_map__map_extra(map));
		json_kbool(j, "internal", bpf_map__is_internal(map));
		json_kbool(j, "autocreate", bpf_map__autocreate(map));
		json_ku64(j, "btfKeyTypeId", bpf_map__btf_key_type_id(map));
		json_ku64(j, "btfValueTypeId", bpf_map__btf_value_type_id(map));
		json_key(j, "pinPath");
		json_str(j, bpf_map__pin_path(map));
		json_key(j, "innerMap");
		if (inner) {
			json_obj_begin(j);
			map_attrs(j, inner);
			json_obj_end(j);
		} else {
			json_null(j);
		}
		/* global variables' initial image (.data, .rodata, .bss: zeros) */
		init = bpf_map__is_internal(map) ? bpf_map__initial_value(map, &isz) : NULL;
		json_key(j, "initial");
		if (init)
			json_base64(j, init, isz);
		else
			json_null(j);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_end(j);
}
