/* The load plan (docs/load-plan.md) from the virtual kernel's records of a load: the
 * object's BTF, its maps in libbpf's order then the inner-map templates, its programs. fds
 * become plan indexes, so the host replays it with its own. */
#include <stdlib.h>
#include <string.h>

#include "btf.h"
#include "libbpf.h"
#include "libbpf_internal.h"

#include "inputs.h"
#include "json.h"
#include "plan.h"
#include "vk.h"

#define PLAN_FORMAT "corebpf-load-plan"
#define PLAN_VERSION 1

/* the object's BTF as libbpf loads it is in host order: re-serialize in the object's */
static void write_btf(struct json *j, const struct vk_buf *b)
{
	struct btf *btf;
	const void *raw;
	__u32 sz;

	if (!plan_swapped) {
		json_base64(j, b->data, b->len);
		return;
	}
	btf = btf__new(b->data, b->len);
	if (!btf || btf__set_endianness(btf, BTF_BIG_ENDIAN) || !(raw = btf__raw_data(btf, &sz))) {
		json_null(j);
	} else {
		json_base64(j, raw, sz);
	}
	btf__free(btf);
}

/* func_info / line_info records: arrays of u32 */
static void write_info(struct json *j, const char *key, uint32_t rec_size, const struct vk_buf *b)
{
	uint8_t *data = b->data;

	json_key(j, key);
	if (!b->len) {
		json_null(j);
		return;
	}
	if (plan_swapped) {
		data = malloc(b->len);
		memcpy(data, b->data, b->len);
		plan_bswap32_array(data, b->len);
	}
	json_obj_begin(j);
	json_ku64(j, "recSize", rec_size);
	json_kb64(j, "data", data, b->len);
	json_obj_end(j);
	if (data != b->data)
		free(data);
}

static void write_prog(struct json *j, const struct bpf_program *prog, const struct vk_prog_rec *p, int btf_rec)
{
	struct bpf_insn *insns = NULL;
	uint32_t i, n = p->insns.len / sizeof(struct bpf_insn);

	json_obj_begin(j);
	json_kstr(j, "name", bpf_program__name(prog));
	json_kstr(j, "section", bpf_program__section_name(prog));
	json_ku64(j, "type", p->prog_type);
	json_ku64(j, "expectedAttachType", p->expected_attach_type);
	json_ku64(j, "attachBtfId", p->attach_btf_id);
	json_kstr(j, "license", p->license);
	json_ku64(j, "kernVersion", p->kern_version);
	json_ku64(j, "flags", p->prog_flags);
	json_ku64(j, "ifindex", p->prog_ifindex);
	json_kbool(j, "btf", p->btf >= 0 && p->btf == btf_rec);

	/* instructions with map fds replaced by plan map indexes */
	if (n) {
		insns = malloc(p->insns.len);
		memcpy(insns, p->insns.data, p->insns.len);
	}
	json_key(j, "mapRefs");
	json_arr_begin(j);
	for (i = 0; i < p->nr_refs; i++) {
		const struct vk_fd_ref *r = &p->refs[i];

		if (r->kind != VK_MAP)
			continue;
		insns[r->insn].imm = plan_map_index[r->ref];
		json_obj_begin(j);
		json_ku64(j, "insn", r->insn);
		json_ki64(j, "map", plan_map_index[r->ref]);
		json_obj_end(j);
	}
	json_arr_end(j);
	if (plan_swapped)
		for (i = 0; i < n; i++)
			bpf_insn_bswap(&insns[i]);
	json_kb64(j, "insns", insns, p->insns.len);
	free(insns);

	write_info(j, "funcInfo", p->func_info_rec_size, &p->func_info);
	write_info(j, "lineInfo", p->line_info_rec_size, &p->line_info);
	json_key(j, "boundMaps");
	json_arr_begin(j);
	for (i = 0; i < p->nr_bound_maps; i++)
		json_i64(j, plan_map_index[p->bound_maps[i]]);
	json_arr_end(j);
	vk_write_prog_modules(j, p);
	if (p->attach_tprog >= 0)
		json_ku64(j, "attachProgram", (uint64_t)p->attach_tprog);
	json_obj_end(j);
}

void plan_write(struct json *j, struct bpf_object *obj, const struct pin_rec *pins, int nr_pins)
{
	struct bpf_program *prog;
	struct bpf_map *map;
	int *templates, nt = 0;
	int i, np = 0, nm = 0, btf_rec = vk_fd_lookup(bpf_object__btf_fd(obj), VK_BTF);

	plan_map_index = malloc(sizeof(int) * (vk.nr_maps + 1));
	plan_prog_index = malloc(sizeof(int) * (vk.nr_progs + 1));
	for (i = 0; i < vk.nr_maps; i++)
		plan_map_index[i] = -1;
	for (i = 0; i < vk.nr_progs; i++)
		plan_prog_index[i] = -1;
	/* plan order: the object's maps as libbpf lists them, then inner-map templates */
	bpf_object__for_each_map(map, obj) {
		int r = vk_fd_lookup(bpf_map__fd(map), VK_MAP);

		if (r >= 0 && plan_map_index[r] < 0)
			plan_map_index[r] = nm++;
	}
	templates = malloc(sizeof(int) * (vk.nr_maps + 1));
	for (i = 0; i < vk.nr_maps; i++) {
		int t = vk.maps[i].inner_map;

		if (t >= 0 && plan_map_index[i] >= 0 && plan_map_index[t] < 0) {
			plan_map_index[t] = nm++;
			templates[nt++] = t;
		}
	}
	bpf_object__for_each_program(prog, obj) {
		int r = vk_fd_lookup(bpf_program__fd(prog), VK_PROG);

		if (r >= 0)
			plan_prog_index[r] = np++;
	}

	json_obj_begin(j);
	json_kstr(j, "format", PLAN_FORMAT);
	json_ku64(j, "version", PLAN_VERSION);
	json_kstr(j, "object", bpf_object__name(obj));
	json_key(j, "kernel");
	json_obj_begin(j);
	json_kstr(j, "release", cb_in.release);
	json_kstr(j, "version", cb_in.version);
	json_kstr(j, "machine", cb_in.machine);
	json_ku64(j, "pageSize", cb_in.page_size);
	json_obj_end(j);
	json_kstr(j, "byteOrder", plan_big ? "big" : "little");
	json_key(j, "btf");
	if (btf_rec >= 0)
		write_btf(j, &vk.btfs[btf_rec].data);
	else
		json_null(j);

	json_key(j, "maps");
	json_arr_begin(j);
	bpf_object__for_each_map(map, obj) {
		int r = vk_fd_lookup(bpf_map__fd(map), VK_MAP);
		const char *pin = NULL;

		if (r < 0)
			continue;
		for (i = 0; i < nr_pins; i++)
			if (strcmp(pins[i].name, bpf_map__name(map)) == 0)
				pin = pins[i].path;
		plan_write_map(j, map, &vk.maps[r], bpf_map__name(map), pin, false, btf_rec, bpf_object__btf(obj));
	}
	/* inner-map templates: libbpf creates one per outer map and closes it once the
	 * outer map exists; the host must do the same */
	for (i = 0; i < nt; i++)
		plan_write_map(j, NULL, &vk.maps[templates[i]], vk.maps[templates[i]].name, NULL, true, btf_rec,
			       bpf_object__btf(obj));
	json_arr_end(j);

	json_key(j, "programs");
	json_arr_begin(j);
	bpf_object__for_each_program(prog, obj) {
		int r = vk_fd_lookup(bpf_program__fd(prog), VK_PROG);

		if (r >= 0)
			write_prog(j, prog, &vk.progs[r], btf_rec);
	}
	json_arr_end(j);
	json_obj_end(j);

	free(templates);
	free(plan_map_index);
	free(plan_prog_index);
	plan_map_index = plan_prog_index = NULL;
}
