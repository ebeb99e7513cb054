/* The runs of libbpf on the object set with cb_set_object(): cb_run() opens and loads it
 * against the virtual kernel and writes the report, the plan and the log; cb_open() stops
 * after the open and describes the opened object (what the host may adjust before a run). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gelf.h>

#include "btf.h"
#include "libbpf.h"
#include "libbpf_internal.h"

#include "adjust.h"
#include "btf_guard.h"
#include "cb_export.h"
#include "core_report.h"
#include "inputs.h"
#include "json.h"
#include "libbpf/libbpf_units.h"
#include "log.h"
#include "plan.h"
#include "result.h"
#include "vk.h"

/* libbpf 1.5 can return ERR_PTR() of a negative number that is no errno: a .kconfig extern
 * whose BTF size is 2^31 or more has it truncated to a negative int, which
 * bpf_object__collect_externs() returns as its error. libbpf_ptr() takes only the last
 * 4095 addresses for errors, so the caller got a wild "object" (a wasm trap, a SEGV
 * natively; found by fuzz/fuzz_open.c, fuzz/regressions/open/kcfg-size-2gib). An
 * ERR_PTR() of any negative int lies in the top 2 GiB of the address space, where no
 * object can be: the wasm heap ends at 1 GiB, native user space far below. */
static struct bpf_object *open_object(const struct bpf_object_open_opts *opts)
{
	struct bpf_object *obj = bpf_object__open_mem(cb_in.obj, cb_in.obj_len, opts);

	if ((uintptr_t)obj >= (uintptr_t)0 - ((uintptr_t)1 << 31)) {
		libbpf_print(LIBBPF_WARN, "libbpf: failed to open the object: error %ld\n", (long)obj);
		errno = EINVAL;
		return NULL;
	}
	return obj;
}

/* Returns a malloc'd text, the caller frees it with cb_free(): the result header of kind run
 * (wasm/cb_result.h, generated from wasm/result-protocol.json: magic, version, size, kind,
 * status, and where each part is) and then {"report":{"error":...,"stats":...,
 * "relocations":[...]} (with CB_REPORT_FAILED: "reportMode", the failed relocations
 * and "programs"),"plan":...,"log":"..."}, whose parts the host slices by the header's
 * offsets. */
CB_EXPORT char *cb_run(void)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts);
	struct bpf_object *obj = NULL;
	struct pin_rec *pins = NULL;
	struct bpf_map *map;
	struct json j;
	uint32_t off[CB_RESULT_RUN_NR_PARTS], len[CB_RESULT_RUN_NR_PARTS];
	int err = 0, nr_pins = 0;
	bool opened = false;
	const char *code = NULL;

	vk_reset();
	core_report_reset();
	cb_log_begin();
	plan_swapped = plan_big = false;
	snprintf(vk.release, sizeof(vk.release), "%s", cb_in.release);
	snprintf(vk.version, sizeof(vk.version), "%s", cb_in.version);
	snprintf(vk.machine, sizeof(vk.machine), "%s", cb_in.machine[0] ? cb_in.machine : "x86_64");
	vk.page_size = cb_in.page_size > 0 ? cb_in.page_size : 4096;
	vk.kallsyms = cb_in.kallsyms;
	vk.kallsyms_len = cb_in.kallsyms_len;
	vk.kconfig = cb_in.kconfig;
	vk_feature_preset(cb_in.features);

	opts.object_name = cb_in.obj_name;
	opts.kconfig = cb_in.kconfig;
	obj = open_object(&opts);
	if (!obj) {
		err = -errno;
	} else if (!bpf_object__btf(obj)) {
		/* no BTF: no CO-RE, no BTF-defined maps, nothing for the host to decode with */
		opened = true;
		err = -ENODATA;
		code = "no_btf";
	} else if ((err = plan_check_byte_order(obj))) {
		opened = true;
		code = "endianness";
	} else {
		opened = true;
		if ((err = adjust_apply(obj, cb_in.adjust)))
			code = "adjust";
	}
	if (!err && obj) {
		/* pinning is the host's job: remember each pin path, let libbpf not pin */
		bpf_object__for_each_map(map, obj) {
			if (bpf_map__type(map) == BPF_MAP_TYPE_PERF_EVENT_ARRAY && !bpf_map__max_entries(map)) {
				plan_cpu_sized = realloc(plan_cpu_sized, sizeof(*plan_cpu_sized) * (plan_nr_cpu_sized + 1));
				plan_cpu_sized[plan_nr_cpu_sized++] = strdup(bpf_map__name(map));
			}
			const char *p = bpf_map__pin_path(map);

			if (!p)
				continue;
			pins = realloc(pins, sizeof(*pins) * (nr_pins + 1));
			pins[nr_pins].name = strdup(bpf_map__name(map));
			pins[nr_pins].path = strdup(p);
			nr_pins++;
			bpf_map__set_pin_path(map, NULL);
		}
		/* libbpf would leak on these records (libbpf_unit.c) */
		err = vk_core_relos_check(obj);
		/* and write past a program's end (libbpf_unit.c) */
		if (!err)
			err = vk_prog_relos_check(obj);
		/* and spin forever on a typedef/modifier cycle (btf_guard.c) */
		if (!err && bpf_object__btf(obj)) {
			long cyc = vk_btf_mods_cycle(bpf_object__btf(obj));

			if (cyc) {
				libbpf_print(LIBBPF_WARN, "libbpf: the object's BTF has a cycle of modifiers/typedefs at type [%ld]\n", cyc);
				err = cyc < 0 ? -ENOMEM : -ELOOP;
			} else if ((cyc = vk_btf_bad_bitfield(bpf_object__btf(obj)))) {
				libbpf_print(LIBBPF_WARN, "libbpf: the object's BTF type [%ld] has a bitfield of a non-integer or zero-size type\n", cyc);
				err = -EINVAL;
			} else if ((cyc = vk_struct_ops_bad_member(obj))) {
				libbpf_print(LIBBPF_WARN, "libbpf: struct_ops type [%ld] has a member past its end\n", cyc);
				err = -EINVAL;
			}
		}
		if (!err)
			err = bpf_object__load(obj);
	}

	result_begin(&j, CB_RESULT_KIND_RUN);
	result_part_begin(&j, CB_RESULT_KIND_RUN, CB_RESULT_RUN_REPORT, off);
	json_obj_begin(&j);
	json_key(&j, "error");
	if (err)
		result_write_error(&j, code ? code : result_error_code(err, opened), err,
				   code && !strcmp(code, "no_btf") ? "the object has no .BTF section" :
				   code && !strcmp(code, "adjust") ? "libbpf refused an adjustment of the opened object" :
				   code ? "the object's byte order is not the target kernel's" :
				   opened ? "libbpf could not load the object" : "libbpf could not open the object");
	else
		json_null(&j);
	json_key(&j, "stats");
	json_obj_begin(&j);
	json_ku64(&j, "syscalls", vk.nr_syscalls);
	json_ku64(&j, "relocations", core_report_count());
	json_ku64(&j, "failedRelocations", core_report_failed());
	json_obj_end(&j);
	if (cb_in.report_mode != CB_REPORT_FULL)
		json_kstr(&j, "reportMode", cb_report_mode_names[cb_in.report_mode]);
	json_key(&j, "relocations");
	core_report_json(&j, cb_in.report_mode == CB_REPORT_FAILED);
	if (cb_in.report_mode == CB_REPORT_FAILED) {
		json_key(&j, "programs");
		core_report_programs_json(&j);
	}
	json_obj_end(&j);
	result_part_end(&j, CB_RESULT_RUN_REPORT, off, len);
	result_part_begin(&j, CB_RESULT_KIND_RUN, CB_RESULT_RUN_PLAN, off);
	if (!err)
		plan_write(&j, obj, pins, nr_pins);
	else
		json_null(&j);
	result_part_end(&j, CB_RESULT_RUN_PLAN, off, len);
	result_end_with_log(&j, CB_RESULT_KIND_RUN, CB_RESULT_RUN_LOG, err, off, len);

	bpf_object__close(obj);
	for (int i = 0; i < nr_pins; i++) {
		free(pins[i].name);
		free(pins[i].path);
	}
	free(pins);
	for (int i = 0; i < plan_nr_cpu_sized; i++)
		free(plan_cpu_sized[i]);
	free(plan_cpu_sized);
	plan_cpu_sized = NULL;
	plan_nr_cpu_sized = 0;
	vk_reset();
	core_report_reset();
	return json_take(&j);
}

/* The open phase: bpf_object__open() only (no target kernel, nothing relocated). Returns the
 * result header (kind open) and {"error":...,"object":...,"log":"..."}: the opened object's
 * programs, maps and BTF, or null and why not. */
CB_EXPORT char *cb_open(void)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts);
	struct bpf_object *obj;
	struct json j;
	uint32_t off[CB_RESULT_OPEN_NR_PARTS], len[CB_RESULT_OPEN_NR_PARTS];
	int err = 0;

	vk_reset();
	cb_log_begin();
	opts.object_name = cb_in.obj_name;
	obj = open_object(&opts);
	if (!obj)
		err = -errno;
	result_begin(&j, CB_RESULT_KIND_OPEN);
	result_part_begin(&j, CB_RESULT_KIND_OPEN, CB_RESULT_OPEN_ERROR, off);
	if (err)
		result_write_error(&j, result_error_code(err, false), err, "libbpf could not open the object");
	else
		json_null(&j);
	result_part_end(&j, CB_RESULT_OPEN_ERROR, off, len);
	result_part_begin(&j, CB_RESULT_KIND_OPEN, CB_RESULT_OPEN_OBJECT, off);
	if (obj)
		adjust_write_spec(&j, obj, vk_object_byteorder(obj) == ELFDATA2MSB);
	else
		json_null(&j);
	result_part_end(&j, CB_RESULT_OPEN_OBJECT, off, len);
	result_end_with_log(&j, CB_RESULT_KIND_OPEN, CB_RESULT_OPEN_LOG, err, off, len);
	bpf_object__close(obj);
	vk_reset();
	return json_take(&j);
}
