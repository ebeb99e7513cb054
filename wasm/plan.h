/* The load plan (docs/load-plan.md) written from the virtual kernel's records: plan.c the
 * whole, plan_map.c its maps, plan_endian.c the object's byte order. */
#ifndef COREBPF_PLAN_H
#define COREBPF_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bpf_map;
struct bpf_object;
struct btf;
struct json;
struct vk_map_rec;

/* a map's pin path, taken from libbpf before load: pinning is the host's job */
struct pin_rec {
	char *name;
	char *path;
};

void plan_write(struct json *j, struct bpf_object *obj, const struct pin_rec *pins, int nr_pins);

/* vk record -> plan index, or -1; set while plan_write() runs */
extern int *plan_map_index;
extern int *plan_prog_index;

/* perf event arrays the object left unsized, remembered before load (libbpf sizes them) */
extern char **plan_cpu_sized;
extern int plan_nr_cpu_sized;

void plan_write_map(struct json *j, const struct bpf_map *map, const struct vk_map_rec *m,
		    const char *name, const char *pin_path, bool template, int btf_rec, const struct btf *btf);

/* the plan is written in the object's byte order (plan_big); plan_swapped when that is not
 * the host's, set by plan_check_byte_order() */
extern bool plan_swapped;
extern bool plan_big;

/* 0, or -EPROTO when the object and the target kernel's BTF differ in byte order */
int plan_check_byte_order(struct bpf_object *obj);
void plan_bswap32_array(void *data, size_t len);
void plan_bswap_n(uint8_t *p, size_t n);
void plan_swap_kconfig_image(const struct btf *btf, uint32_t datasec_id, uint8_t *img, size_t len);

#endif
