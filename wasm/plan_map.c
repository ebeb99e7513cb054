/* A map of the plan: its attributes as the virtual kernel recorded them at
 * BPF_MAP_CREATE, its initial updates, and a struct_ops map's value. */
#include <stdlib.h>
#include <string.h>

#include "btf.h"
#include "libbpf.h"
#include "libbpf_internal.h"

#include "json.h"
#include "libbpf/libbpf_units.h"
#include "plan.h"
#include "vk.h"

int *plan_map_index;
int *plan_prog_index;
char **plan_cpu_sized;
int plan_nr_cpu_sized;

/* libbpf sizes a PERF_EVENT_ARRAY without max_entries by the possible CPUs: the plan keeps
 * 0 for those (the host uses its own CPU count), libbpf gets one CPU here */
int vk_num_possible_cpus(void)
{
	return 1;
}

static bool per_cpu_sized(const struct bpf_map *map)
{
	int i;

	for (i = 0; i < plan_nr_cpu_sized; i++)
		if (!strcmp(plan_cpu_sized[i], bpf_map__name(map)))
			return true;
	return false;
}

/* libbpf names it "<object prefix>.kconfig" */
static bool is_kconfig_map(const struct bpf_map *map)
{
	const char *n = bpf_map__name(map);
	size_t len = strlen(n);

	return len >= 8 && strcmp(n + len - 8, ".kconfig") == 0;
}

static void write_update(struct json *j, const struct vk_update *u, const struct btf *btf,
			 const struct bpf_map *map, const struct vk_map_rec *m)
{
	uint8_t *key = u->key.data, *value = u->value.data;

	if (plan_swapped && u->ref_kind != VK_NONE && u->key.len == 4) {
		/* libbpf's slot indexes of prog arrays / map-in-map, in host order */
		key = malloc(4);
		memcpy(key, u->key.data, 4);
		plan_bswap_n(key, 4);
	}
	if (plan_swapped && map && bpf_map__is_internal(map) && u->value.len && is_kconfig_map(map)) {
		value = malloc(u->value.len);
		memcpy(value, u->value.data, u->value.len);
		plan_swap_kconfig_image(btf, m->btf_value_type_id, value, u->value.len);
	}
	json_obj_begin(j);
	json_kb64(j, "key", key, u->key.len);
	if (key != u->key.data)
		free(key);
	if (u->ref_kind == VK_PROG) {
		json_ki64(j, "program", plan_prog_index[u->ref]);
	} else if (u->ref_kind == VK_MAP) {
		json_ki64(j, "map", plan_map_index[u->ref]);
	} else {
		json_kb64(j, "value", value, u->value.len);
	}
	if (value != u->value.data)
		free(value);
	if (u->flags)
		json_ku64(j, "flags", u->flags);
	json_obj_end(j);
}

/* A struct_ops map's value and which 8-byte slots of it take which program's fd: libbpf
 * writes it at attach (bpf_map__attach_struct_ops), which the plan leaves to the host. The
 * program slots hold libbpf's fake fds here: zeroed, the host writes the real ones. */
static void write_struct_ops(struct json *j, const struct bpf_map *map)
{
	const struct bpf_program *prog;
	const void *kv;
	uint8_t *value;
	uint32_t i, n, off, size = 0;

	kv = vk_struct_ops_value(map, &size);
	json_key(j, "structOps");
	if (!kv) {
		json_null(j);
		return;
	}
	value = malloc(size ? size : 1);
	memcpy(value, kv, size);
	n = vk_struct_ops_nr_slots(map);
	for (i = 0; i < n; i++)
		if (vk_struct_ops_slot(map, i, &off) && off + 8 <= size)
			memset(value + off, 0, 8);
	json_obj_begin(j);
	json_kb64(j, "value", value, size);
	free(value);
	json_key(j, "programs");
	json_arr_begin(j);
	for (i = 0; i < n; i++) {
		int r;

		prog = vk_struct_ops_slot(map, i, &off);
		if (!prog || (r = vk_fd_lookup(bpf_program__fd(prog), VK_PROG)) < 0)
			continue;
		json_obj_begin(j);
		json_ku64(j, "offset", off);
		json_ki64(j, "program", plan_prog_index[r]);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_end(j);
}

void plan_write_map(struct json *j, const struct bpf_map *map, const struct vk_map_rec *m,
		    const char *name, const char *pin_path, bool template, int btf_rec, const struct btf *btf)
{
	uint32_t i;

	json_obj_begin(j);
	json_kstr(j, "name", name);
	json_ku64(j, "type", m->map_type);
	json_ku64(j, "keySize", m->key_size);
	json_ku64(j, "valueSize", m->value_size);
	/* sized per CPU by libbpf (see vk_num_possible_cpus): 0 tells the host to size it */
	json_ku64(j, "maxEntries", map && m->map_type == BPF_MAP_TYPE_PERF_EVENT_ARRAY &&
			  per_cpu_sized(map) ? 0 : m->max_entries);
	json_ku64(j, "flags", m->map_flags);
	json_ku64(j, "numaNode", m->numa_node);
	json_key(j, "mapExtra");
	json_u64_str(j, m->map_extra);
	json_ku64(j, "ifindex", m->map_ifindex);
	json_kbool(j, "btf", m->btf >= 0 && m->btf == btf_rec);
	json_ku64(j, "btfKeyTypeId", m->btf_key_type_id);
	json_ku64(j, "btfValueTypeId", m->btf_value_type_id);
	json_ku64(j, "btfVmlinuxValueTypeId", m->btf_vmlinux_value_type_id);
	json_key(j, "innerMap");
	if (m->inner_map >= 0)
		json_i64(j, plan_map_index[m->inner_map]);
	else
		json_null(j);
	json_kbool(j, "innerTemplate", template);
	json_kbool(j, "internal", map ? bpf_map__is_internal(map) : false);
	json_kbool(j, "freeze", m->frozen);
	json_key(j, "pinPath");
	json_str(j, pin_path);
	json_key(j, "initial");
	json_arr_begin(j);
	for (i = 0; i < m->nr_updates; i++)
		write_update(j, &m->updates[i], btf, map, m);
	json_arr_end(j);
	if (m->map_type == BPF_MAP_TYPE_STRUCT_OPS && map)
		write_struct_ops(j, map);
	json_obj_end(j);
}
