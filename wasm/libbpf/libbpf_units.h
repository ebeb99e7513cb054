/* What our units compiled inside libbpf (libbpf_unit.c, features_preset.c) give the glue:
 * libbpf's private state, read or set where its API has no call for it. */
#ifndef COREBPF_LIBBPF_UNITS_H
#define COREBPF_LIBBPF_UNITS_H

#include <stdint.h>

struct bpf_map;
struct bpf_object;
struct bpf_program;

/* libbpf_unit.c */
int vk_object_byteorder(const struct bpf_object *obj);
int vk_core_relos_check(const struct bpf_object *obj);
int vk_prog_relos_check(const struct bpf_object *obj);
void vk_object_claim_native(struct bpf_object *obj);
const void *vk_struct_ops_value(const struct bpf_map *map, uint32_t *size);
uint32_t vk_struct_ops_nr_slots(const struct bpf_map *map);
const struct bpf_program *vk_struct_ops_slot(const struct bpf_map *map, uint32_t i, uint32_t *off);

/* features_preset.c */
int vk_feature_count(void);
const char *vk_feature_name(int id);
const char *vk_feature_desc(int id);
void vk_feature_preset(const unsigned char *profile);

#endif
