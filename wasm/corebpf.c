/* corebpf's entry points: run libbpf's open -> load on an object given as bytes against
 * the virtual kernel, then turn the recording into a load plan (JSON, see
 * docs/load-plan.md). The same file is the core of the wasm module and of the native
 * oracle (native/main.c). Inputs are set with cb_set_*; cb_run() returns the result. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <byteswap.h>
#include <malloc.h>
#include <gelf.h>
#include <libelf.h>

#include "btf.h"
#include "libbpf.h"
#include "libbpf_internal.h"

#include "adjust.h"
#include "cand_index.h"
#include "core_report.h"
#include "json.h"
#include "btf_guard.h"
#include "libbpf/btf_adopt.h"
#include "vk.h"

#include "cb_export.h"
#include "cb_result.h"

#define PLAN_FORMAT "corebpf-load-plan"
#define PLAN_VERSION 1
#define MAX_TARGETS 64

int vk_object_byteorder(const struct bpf_object *obj);
int vk_core_relos_check(const struct bpf_object *obj);
int vk_prog_relos_check(const struct bpf_object *obj);
void vk_object_claim_native(struct bpf_object *obj);
const void *vk_struct_ops_value(const struct bpf_map *map, uint32_t *size);
uint32_t vk_struct_ops_nr_slots(const struct bpf_map *map);
const struct bpf_program *vk_struct_ops_slot(const struct bpf_map *map, uint32_t i, uint32_t *off);
int vk_feature_count(void);
const char *vk_feature_name(int id);
const char *vk_feature_desc(int id);
void vk_feature_preset(const unsigned char *profile);

/* ---- log ---------------------------------------------------------------------------- */

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

static void log_reset(void)
{
	cb_log_len = 0;
	if (cb_log)
		cb_log[0] = 0;
}

/* ---- inputs -------------------------------------------------------------------------- */

static struct {
	const void *obj;
	size_t obj_len;
	char *obj_name;
	char *kconfig;
	int target;
	unsigned char features[64];
	char *kallsyms;
	size_t kallsyms_len;
	char *adjust; /* open-phase adjustments (adjust.c) */
	char release[65], version[65], machine[65];
	long page_size;
} in;

static struct btf *targets[MAX_TARGETS];
static struct cand_index *indexes[MAX_TARGETS];
static char target_err[512];

CB_EXPORT int cb_feature_count(void) { return vk_feature_count(); }
CB_EXPORT const char *cb_feature_name(int id) { return vk_feature_name(id); }
CB_EXPORT const char *cb_feature_desc(int id) { return vk_feature_desc(id); }
CB_EXPORT const char *cb_target_error(void) { return target_err; }
CB_EXPORT const char *cb_libbpf_version(void) { return libbpf_version_string(); }

/* the .BTF section of an ELF file (a vmlinux), through libelf */
static struct btf *btf_from_elf(const void *data, size_t len)
{
	Elf *elf;
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	struct btf *btf = NULL;

	elf_version(EV_CURRENT);
	elf = elf_memory((char *)data, len);
	if (!elf || elf_getshdrstrndx(elf, &shstrndx)) {
		snprintf(target_err, sizeof(target_err), "target is not a readable ELF file: %s", elf_errmsg(-1));
		goto out;
	}
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh))
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name || strcmp(name, ".BTF"))
			continue;
		d = elf_getdata(scn, NULL);
		if (!d || !d->d_buf) {
			snprintf(target_err, sizeof(target_err), "target ELF has an empty .BTF section");
			goto out;
		}
		btf = btf__new(d->d_buf, d->d_size);
		if (!btf)
			snprintf(target_err, sizeof(target_err), "target ELF's .BTF section is not valid BTF (%s)",
				 strerror(errno));
		goto out;
	}
	snprintf(target_err, sizeof(target_err), "target ELF file has no .BTF section");
out:
	if (elf)
		elf_end(elf);
	return btf;
}

/* Parse a target BTF: `owned`, when not NULL, is `data` from malloc, which raw BTF hands to
 * libbpf as its copy; it is freed here when libbpf did not take it. */
static struct btf *target_btf(const void *data, size_t len, void *owned)
{
	struct btf *btf;

	if (len >= 4 && memcmp(data, "\177ELF", 4) == 0) {
		btf = btf_from_elf(data, len);
	} else {
		log_reset();
		libbpf_set_print(print_fn);
		if (owned)
			cb_btf_adopt(owned, len);
		btf = btf__new(data, len);
		if (owned && cb_btf_adopted())
			owned = NULL;
		if (!btf) {
			int err = errno;
			const char *l = cb_log_len ? cb_log : "";

			snprintf(target_err, sizeof(target_err), "target BTF is not valid (%s)%s%.*s", strerror(err),
				 *l ? ": " : "", (int)strcspn(l, "\n"), l);
		}
	}
	free(owned);
	return btf;
}

static int target_register(const void *data, size_t len, void *owned)
{
	struct btf *btf;
	int h;

	target_err[0] = 0;
	for (h = 1; h < MAX_TARGETS && targets[h]; h++)
		;
	if (h == MAX_TARGETS) {
		free(owned);
		snprintf(target_err, sizeof(target_err), "too many target BTFs registered (%d)", MAX_TARGETS - 1);
		return -EMFILE;
	}
	btf = target_btf(data, len, owned);
	if (!btf)
		return -EINVAL;
	{
		long cyc = vk_btf_mods_cycle(btf);

		if (!cyc && vk_btf_bad_bitfield(btf)) {
			snprintf(target_err, sizeof(target_err), "target BTF is not valid: type [%ld] has a bitfield of a non-integer or zero-size type",
				 vk_btf_bad_bitfield(btf));
			btf__free(btf);
			return -EINVAL;
		}
		if (cyc) {
			btf__free(btf);
			snprintf(target_err, sizeof(target_err), cyc < 0 ? "out of memory checking the target BTF"
				 : "target BTF is not valid: a cycle of modifiers/typedefs at type [%ld]", cyc);
			return cyc < 0 ? -ENOMEM : -EINVAL;
		}
	}
	indexes[h] = cand_index_build(btf);
	if (!indexes[h]) {
		btf__free(btf);
		snprintf(target_err, sizeof(target_err), "out of memory indexing the target BTF");
		return -ENOMEM;
	}
	targets[h] = btf;
	return h;
}

/* Parse a target kernel's BTF (raw, or an ELF with .BTF) once; later relocations against
 * the same handle reuse the parsed types. Returns a handle > 0, or -errno. */
CB_EXPORT int cb_target_register(const void *data, size_t len)
{
	return target_register(data, len, NULL);
}

/* cb_target_register() of a buffer from cb_malloc() that this call takes: raw BTF becomes
 * libbpf's own copy (a kernel's BTF is then in wasm memory once, not twice); freed when the
 * target is released, or by this call when it is not kept. */
CB_EXPORT int cb_target_register_owned(void *data, size_t len)
{
	return target_register(data, len, data);
}

CB_EXPORT void cb_target_release(int h)
{
	if (h > 0 && h < MAX_TARGETS && targets[h]) {
		cand_index_free(indexes[h]);
		btf__free(targets[h]);
		targets[h] = NULL;
		indexes[h] = NULL;
	}
}

/* libbpf.c's btf__load_vmlinux_btf() and btf__free() come here (see libbpf.mk) */
struct btf *vk_load_vmlinux_btf(void)
{
	if (in.target <= 0 || in.target >= MAX_TARGETS || !targets[in.target]) {
		libbpf_print(LIBBPF_WARN, "libbpf: no target kernel BTF was given\n");
		errno = ENOENT;
		return ERR_PTR(-ENOENT);
	}
	return targets[in.target];
}

const struct cand_index *vk_target_index(const struct btf *btf)
{
	int h;

	for (h = 1; h < MAX_TARGETS; h++)
		if (targets[h] && targets[h] == btf)
			return indexes[h];
	return NULL;
}

void vk_btf_free(struct btf *btf)
{
	int h;

	for (h = 1; h < MAX_TARGETS; h++)
		if (targets[h] && targets[h] == btf)
			return;
	btf__free(btf);
}

static void set_str(char **dst, const char *s)
{
	free(*dst);
	*dst = s ? strdup(s) : NULL;
}

CB_EXPORT void cb_set_object(const void *data, size_t len, const char *name)
{
	in.obj = data;
	in.obj_len = len;
	set_str(&in.obj_name, name);
}

CB_EXPORT void cb_set_target(int handle) { in.target = handle; }
CB_EXPORT void cb_set_log_level(int level) { in_log_level = level; }

/* what the report part holds (enum cb_report_mode of cb_result.h; unknown: full) */
static int in_report_mode = CB_REPORT_FULL;
CB_EXPORT void cb_set_report_mode(int mode)
{
	in_report_mode = mode > CB_REPORT_FULL && mode < CB_REPORT_NR_MODES ? mode : CB_REPORT_FULL;
}
int cb_debug_messages(void) { return in_log_level >= LIBBPF_DEBUG; }
CB_EXPORT void cb_set_kconfig(const char *text) { set_str(&in.kconfig, text); }
CB_EXPORT void cb_set_adjustments(const char *text) { set_str(&in.adjust, text); }

CB_EXPORT void cb_set_kallsyms(const char *text, size_t len)
{
	free(in.kallsyms);
	in.kallsyms = NULL;
	in.kallsyms_len = 0;
	if (text) {
		in.kallsyms = malloc(len + 1);
		memcpy(in.kallsyms, text, len);
		in.kallsyms[len] = 0;
		in.kallsyms_len = len;
	}
}

CB_EXPORT void cb_set_kernel(const char *release, const char *version, const char *machine, long page_size)
{
	snprintf(in.release, sizeof(in.release), "%s", release ? release : "");
	snprintf(in.version, sizeof(in.version), "%s", version ? version : "");
	snprintf(in.machine, sizeof(in.machine), "%s", machine && *machine ? machine : "x86_64");
	in.page_size = page_size > 0 ? page_size : 4096;
}

/* profile[i] for libbpf feature i: 0 = default (supported), 1 = supported, 2 = missing */
CB_EXPORT void cb_set_features(const unsigned char *profile, size_t len)
{
	memset(in.features, 0, sizeof(in.features));
	if (profile)
		memcpy(in.features, profile, len < sizeof(in.features) ? len : sizeof(in.features));
}

/* libbpf sizes a PERF_EVENT_ARRAY without max_entries by the possible CPUs: the plan keeps
 * 0 for those (the host uses its own CPU count), libbpf gets one CPU here */
int vk_num_possible_cpus(void)
{
	return 1;
}

/* ---- plan ---------------------------------------------------------------------------- */

/* ---- byte order ----------------------------------------------------------------------
 * A non-native object (big-endian, for s390x) was converted to host order by libbpf at
 * open; the plan is written back in the object's byte order for a kernel of that order. */
static bool plan_swapped;
static bool plan_big; /* the object's byte order, taken before libbpf is told it is native */

static void bswap32_array(void *data, size_t len)
{
	uint32_t *w = data;
	size_t i;

	for (i = 0; i < len / 4; i++)
		w[i] = bswap_32(w[i]);
}

static void bswap_n(uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n / 2; i++) {
		uint8_t t = p[i];

		p[i] = p[n - 1 - i];
		p[n - 1 - i] = t;
	}
}

/* integers libbpf wrote into the .kconfig image (host order): swap each to the object's */
static void swap_kconfig_image(const struct btf *btf, __u32 datasec_id, uint8_t *img, size_t len)
{
	const struct btf_type *sec = btf__type_by_id(btf, datasec_id);
	const struct btf_var_secinfo *vi;
	int i;

	if (!sec || !btf_is_datasec(sec))
		return;
	for (i = 0, vi = btf_var_secinfos(sec); i < btf_vlen(sec); i++, vi++) {
		const struct btf_type *var = btf__type_by_id(btf, vi->type);
		const struct btf_type *t = var ? btf__type_by_id(btf, var->type) : NULL;

		while (t && (btf_is_mod(t) || btf_is_typedef(t)))
			t = btf__type_by_id(btf, t->type);
		if (!t || !(btf_is_int(t) || btf_is_any_enum(t)) || vi->size < 2 || vi->offset + vi->size > len)
			continue;
		bswap_n(img + vi->offset, vi->size);
	}
}

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

/* perf event arrays the object left unsized, remembered before load (libbpf sizes them) */
static char **cpu_sized;
static int nr_cpu_sized;

static bool per_cpu_sized(const struct bpf_map *map)
{
	int i;

	for (i = 0; i < nr_cpu_sized; i++)
		if (!strcmp(cpu_sized[i], bpf_map__name(map)))
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

static int *map_index;  /* vk map record -> plan map index, or -1 */
static int *prog_index; /* vk prog record -> plan program index, or -1 */

static void write_update(struct json *j, const struct vk_update *u, const struct btf *btf,
			 const struct bpf_map *map, const struct vk_map_rec *m)
{
	uint8_t *key = u->key.data, *value = u->value.data;

	if (plan_swapped && u->ref_kind != VK_NONE && u->key.len == 4) {
		/* libbpf's slot indexes of prog arrays / map-in-map, in host order */
		key = malloc(4);
		memcpy(key, u->key.data, 4);
		bswap_n(key, 4);
	}
	if (plan_swapped && map && bpf_map__is_internal(map) && u->value.len && is_kconfig_map(map)) {
		value = malloc(u->value.len);
		memcpy(value, u->value.data, u->value.len);
		swap_kconfig_image(btf, m->btf_value_type_id, value, u->value.len);
	}
	json_obj_begin(j);
	json_kb64(j, "key", key, u->key.len);
	if (key != u->key.data)
		free(key);
	if (u->ref_kind == VK_PROG) {
		json_ki64(j, "program", prog_index[u->ref]);
	} else if (u->ref_kind == VK_MAP) {
		json_ki64(j, "map", map_index[u->ref]);
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
		json_ki64(j, "program", prog_index[r]);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_end(j);
}

static void write_map(struct json *j, const struct bpf_map *map, const struct vk_map_rec *m,
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
		json_i64(j, map_index[m->inner_map]);
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
		bswap32_array(data, b->len);
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
		insns[r->insn].imm = map_index[r->ref];
		json_obj_begin(j);
		json_ku64(j, "insn", r->insn);
		json_ki64(j, "map", map_index[r->ref]);
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
		json_i64(j, map_index[p->bound_maps[i]]);
	json_arr_end(j);
	vk_write_prog_modules(j, p);
	if (p->attach_tprog >= 0)
		json_ku64(j, "attachProgram", (uint64_t)p->attach_tprog);
	json_obj_end(j);
}

struct pin_rec {
	char *name;
	char *path;
};

static void write_plan(struct json *j, struct bpf_object *obj, const struct pin_rec *pins, int nr_pins)
{
	struct bpf_program *prog;
	struct bpf_map *map;
	int *templates, nt = 0;
	int i, np = 0, nm = 0, btf_rec = vk_fd_lookup(bpf_object__btf_fd(obj), VK_BTF);

	map_index = malloc(sizeof(int) * (vk.nr_maps + 1));
	prog_index = malloc(sizeof(int) * (vk.nr_progs + 1));
	for (i = 0; i < vk.nr_maps; i++)
		map_index[i] = -1;
	for (i = 0; i < vk.nr_progs; i++)
		prog_index[i] = -1;
	/* plan order: the object's maps as libbpf lists them, then inner-map templates */
	bpf_object__for_each_map(map, obj) {
		int r = vk_fd_lookup(bpf_map__fd(map), VK_MAP);

		if (r >= 0 && map_index[r] < 0)
			map_index[r] = nm++;
	}
	templates = malloc(sizeof(int) * (vk.nr_maps + 1));
	for (i = 0; i < vk.nr_maps; i++) {
		int t = vk.maps[i].inner_map;

		if (t >= 0 && map_index[i] >= 0 && map_index[t] < 0) {
			map_index[t] = nm++;
			templates[nt++] = t;
		}
	}
	bpf_object__for_each_program(prog, obj) {
		int r = vk_fd_lookup(bpf_program__fd(prog), VK_PROG);

		if (r >= 0)
			prog_index[r] = np++;
	}

	json_obj_begin(j);
	json_kstr(j, "format", PLAN_FORMAT);
	json_ku64(j, "version", PLAN_VERSION);
	json_kstr(j, "object", bpf_object__name(obj));
	json_key(j, "kernel");
	json_obj_begin(j);
	json_kstr(j, "release", in.release);
	json_kstr(j, "version", in.version);
	json_kstr(j, "machine", in.machine);
	json_ku64(j, "pageSize", in.page_size);
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
		write_map(j, map, &vk.maps[r], bpf_map__name(map), pin, false, btf_rec, bpf_object__btf(obj));
	}
	/* inner-map templates: libbpf creates one per outer map and closes it once the
	 * outer map exists; the host must do the same */
	for (i = 0; i < nt; i++)
		write_map(j, NULL, &vk.maps[templates[i]], vk.maps[templates[i]].name, NULL, true, btf_rec,
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
	free(map_index);
	free(prog_index);
	map_index = prog_index = NULL;
}

/* ---- run ----------------------------------------------------------------------------- */

/* The object runs on the target kernel: their byte orders must agree. A non-native object
 * is let through libbpf's load (see wasm/libbpf/libbpf_unit.c) and written back swapped. */
static int check_byte_order(struct bpf_object *obj)
{
	bool obj_big = vk_object_byteorder(obj) == ELFDATA2MSB;
	struct btf *t = (in.target > 0 && in.target < MAX_TARGETS) ? targets[in.target] : NULL;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	bool host_big = false;
#else
	bool host_big = true;
#endif

	if (t && (btf__endianness(t) == BTF_BIG_ENDIAN) != obj_big) {
		libbpf_print(LIBBPF_WARN, "libbpf: object '%s' is %s-endian but the target kernel's BTF is %s-endian: build the object with -target %s\n",
			     bpf_object__name(obj), obj_big ? "big" : "little", obj_big ? "little" : "big",
			     obj_big ? "bpfel" : "bpfeb");
		return -EPROTO;
	}
	plan_big = obj_big;
	plan_swapped = obj_big != host_big;
	if (plan_swapped)
		vk_object_claim_native(obj);
	return 0;
}

static const char *error_code(int err, bool opened)
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

/* errno by name: wasm's libc numbers errnos differently from Linux, names agree (the
 * worker maps the numbers in libbpf's messages to Linux's through this) */
CB_EXPORT const char *cb_errno_name(int e)
{
	switch (e) {
#define E(x) case x: return #x
	E(EPERM); E(ENOENT); E(ESRCH); E(EINTR); E(EIO); E(ENXIO); E(E2BIG); E(ENOEXEC);
	E(EBADF); E(EAGAIN); E(ENOMEM); E(EACCES); E(EFAULT); E(EBUSY); E(EEXIST);
	E(ENODEV); E(ENOTDIR); E(EISDIR); E(EINVAL); E(ENFILE); E(EMFILE); E(ENOTTY);
	E(EFBIG); E(ENOSPC); E(ERANGE); E(ENOSYS); E(ENODATA); E(EOVERFLOW); E(EOPNOTSUPP);
	E(ELOOP); E(ENAMETOOLONG); E(EPROTO); E(EBADMSG);
#undef E
	case LIBBPF_ERRNO__LIBELF: return "LIBBPF_ERRNO__LIBELF";
	case LIBBPF_ERRNO__FORMAT: return "LIBBPF_ERRNO__FORMAT";
	case LIBBPF_ERRNO__KVERSION: return "LIBBPF_ERRNO__KVERSION";
	case LIBBPF_ERRNO__ENDIAN: return "LIBBPF_ERRNO__ENDIAN";
	case LIBBPF_ERRNO__INTERNAL: return "LIBBPF_ERRNO__INTERNAL";
	case LIBBPF_ERRNO__RELOC: return "LIBBPF_ERRNO__RELOC";
	case LIBBPF_ERRNO__LOAD: return "LIBBPF_ERRNO__LOAD";
	case LIBBPF_ERRNO__VERIFY: return "LIBBPF_ERRNO__VERIFY";
	case LIBBPF_ERRNO__PROG2BIG: return "LIBBPF_ERRNO__PROG2BIG";
	case LIBBPF_ERRNO__KVER: return "LIBBPF_ERRNO__KVER";
	case LIBBPF_ERRNO__PROGTYPE: return "LIBBPF_ERRNO__PROGTYPE";
	case LIBBPF_ERRNO__WRNGPID: return "LIBBPF_ERRNO__WRNGPID";
	case LIBBPF_ERRNO__INVSEQ: return "LIBBPF_ERRNO__INVSEQ";
	case LIBBPF_ERRNO__NLPARSE: return "LIBBPF_ERRNO__NLPARSE";
	default: return "unknown";
	}
}

static void write_error(struct json *j, const char *code, int err, const char *what)
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

/* libbpf 1.5 can return ERR_PTR() of a negative number that is no errno: a .kconfig extern
 * whose BTF size is 2^31 or more has it truncated to a negative int, which
 * bpf_object__collect_externs() returns as its error. libbpf_ptr() takes only the last
 * 4095 addresses for errors, so the caller got a wild "object" (a wasm trap, a SEGV
 * natively; found by fuzz/fuzz_open.c, fuzz/regressions/open/kcfg-size-2gib). An
 * ERR_PTR() of any negative int lies in the top 2 GiB of the address space, where no
 * object can be: the wasm heap ends at 1 GiB, native user space far below. */
static struct bpf_object *open_object(const struct bpf_object_open_opts *opts)
{
	struct bpf_object *obj = bpf_object__open_mem(in.obj, in.obj_len, opts);

	if ((uintptr_t)obj >= (uintptr_t)0 - ((uintptr_t)1 << 31)) {
		libbpf_print(LIBBPF_WARN, "libbpf: failed to open the object: error %ld\n", (long)obj);
		errno = EINVAL;
		return NULL;
	}
	return obj;
}

/* A result whose body is JSON (wasm/result-protocol.json), written in place: room for the
 * header first, then {"part":...,...}; result_end() fills the header in once the parts'
 * places are known. */
static void result_begin(struct json *j, enum cb_result_kind kind)
{
	char room[CB_RESULT_MAX_HEADER_LEN];

	memset(room, ' ', sizeof(room));
	json_init(j);
	json_raw(j, room, cb_result_kinds[kind].header_len);
	json_obj_begin(j);
}

static void part_begin(struct json *j, enum cb_result_kind kind, int part, uint32_t *off)
{
	json_key(j, cb_result_kinds[kind].parts[part]);
	off[part] = (uint32_t)j->len;
}

static void part_end(struct json *j, int part, const uint32_t *off, uint32_t *len)
{
	len[part] = (uint32_t)j->len - off[part];
}

/* status: "ok", or the errno's name (the two builds number errnos differently) */
static void result_end(struct json *j, enum cb_result_kind kind, int err, const uint32_t *off, const uint32_t *len)
{
	json_obj_end(j);
	if (!j->oom)
		cb_result_header(j->buf, kind, err ? cb_errno_name(err < 0 ? -err : err) : CB_RESULT_STATUS_OK, (uint32_t)j->len, off, len);
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
	log_reset();
	plan_swapped = plan_big = false;
	libbpf_set_print(print_fn);
	snprintf(vk.release, sizeof(vk.release), "%s", in.release);
	snprintf(vk.version, sizeof(vk.version), "%s", in.version);
	snprintf(vk.machine, sizeof(vk.machine), "%s", in.machine[0] ? in.machine : "x86_64");
	vk.page_size = in.page_size > 0 ? in.page_size : 4096;
	vk.kallsyms = in.kallsyms;
	vk.kallsyms_len = in.kallsyms_len;
	vk.kconfig = in.kconfig;
	vk_feature_preset(in.features);

	opts.object_name = in.obj_name;
	opts.kconfig = in.kconfig;
	obj = open_object(&opts);
	if (!obj) {
		err = -errno;
	} else if (!bpf_object__btf(obj)) {
		/* no BTF: no CO-RE, no BTF-defined maps, nothing for the host to decode with */
		opened = true;
		err = -ENODATA;
		code = "no_btf";
	} else if ((err = check_byte_order(obj))) {
		opened = true;
		code = "endianness";
	} else {
		opened = true;
		if ((err = adjust_apply(obj, in.adjust)))
			code = "adjust";
	}
	if (!err && obj) {
		/* pinning is the host's job: remember each pin path, let libbpf not pin */
		bpf_object__for_each_map(map, obj) {
			if (bpf_map__type(map) == BPF_MAP_TYPE_PERF_EVENT_ARRAY && !bpf_map__max_entries(map)) {
				cpu_sized = realloc(cpu_sized, sizeof(*cpu_sized) * (nr_cpu_sized + 1));
				cpu_sized[nr_cpu_sized++] = strdup(bpf_map__name(map));
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
	part_begin(&j, CB_RESULT_KIND_RUN, CB_RESULT_RUN_REPORT, off);
	json_obj_begin(&j);
	json_key(&j, "error");
	if (err)
		write_error(&j, code ? code : error_code(err, opened), err,
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
	if (in_report_mode != CB_REPORT_FULL)
		json_kstr(&j, "reportMode", cb_report_mode_names[in_report_mode]);
	json_key(&j, "relocations");
	core_report_json(&j, in_report_mode == CB_REPORT_FAILED);
	if (in_report_mode == CB_REPORT_FAILED) {
		json_key(&j, "programs");
		core_report_programs_json(&j);
	}
	json_obj_end(&j);
	part_end(&j, CB_RESULT_RUN_REPORT, off, len);
	part_begin(&j, CB_RESULT_KIND_RUN, CB_RESULT_RUN_PLAN, off);
	if (!err)
		write_plan(&j, obj, pins, nr_pins);
	else
		json_null(&j);
	part_end(&j, CB_RESULT_RUN_PLAN, off, len);
	part_begin(&j, CB_RESULT_KIND_RUN, CB_RESULT_RUN_LOG, off);
	json_strn(&j, cb_log ? cb_log : "", cb_log_len);
	part_end(&j, CB_RESULT_RUN_LOG, off, len);
	result_end(&j, CB_RESULT_KIND_RUN, err, off, len);

	bpf_object__close(obj);
	for (int i = 0; i < nr_pins; i++) {
		free(pins[i].name);
		free(pins[i].path);
	}
	free(pins);
	for (int i = 0; i < nr_cpu_sized; i++)
		free(cpu_sized[i]);
	free(cpu_sized);
	cpu_sized = NULL;
	nr_cpu_sized = 0;
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
	log_reset();
	libbpf_set_print(print_fn);
	opts.object_name = in.obj_name;
	obj = open_object(&opts);
	if (!obj)
		err = -errno;
	result_begin(&j, CB_RESULT_KIND_OPEN);
	part_begin(&j, CB_RESULT_KIND_OPEN, CB_RESULT_OPEN_ERROR, off);
	if (err)
		write_error(&j, error_code(err, false), err, "libbpf could not open the object");
	else
		json_null(&j);
	part_end(&j, CB_RESULT_OPEN_ERROR, off, len);
	part_begin(&j, CB_RESULT_KIND_OPEN, CB_RESULT_OPEN_OBJECT, off);
	if (obj)
		adjust_write_spec(&j, obj, vk_object_byteorder(obj) == ELFDATA2MSB);
	else
		json_null(&j);
	part_end(&j, CB_RESULT_OPEN_OBJECT, off, len);
	part_begin(&j, CB_RESULT_KIND_OPEN, CB_RESULT_OPEN_LOG, off);
	json_strn(&j, cb_log ? cb_log : "", cb_log_len);
	part_end(&j, CB_RESULT_OPEN_LOG, off, len);
	result_end(&j, CB_RESULT_KIND_OPEN, err, off, len);
	bpf_object__close(obj);
	vk_reset();
	return json_take(&j);
}

/* for the test of cb_target_register_owned(): where target `h`'s raw BTF lies in wasm memory */
CB_EXPORT const void *cb_target_raw_data(int h)
{
	__u32 size;

	return h > 0 && h < MAX_TARGETS && targets[h] ? btf__raw_data(targets[h], &size) : NULL;
}

/* for tests of what the glue keeps and frees: bytes of the C heap in use */
CB_EXPORT size_t cb_heap_used(void)
{
#ifdef __EMSCRIPTEN__
	return mallinfo().uordblks;
#else
	return mallinfo2().uordblks;
#endif
}

/* for the test of the worker's trap handling: a wasm trap on purpose */
CB_EXPORT void cb_selftest_trap(void)
{
	__builtin_trap();
}

CB_EXPORT void cb_free(void *p)
{
	free(p);
}

CB_EXPORT void *cb_malloc(size_t n)
{
	return malloc(n);
}
