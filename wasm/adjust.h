/* The open phase (adjust.c): libbpf's setters applied between open and load, and the
 * opened object's attributes as JSON. */
#ifndef COREBPF_ADJUST_H
#define COREBPF_ADJUST_H

#include <stdbool.h>

struct bpf_object;
struct json;

/* apply the adjustments text (see adjust.c); 0 or libbpf's -errno */
int adjust_apply(struct bpf_object *obj, const char *text);
/* programs, maps (attributes, initial images of internal maps) and the object's BTF */
void adjust_write_spec(struct json *j, struct bpf_object *obj, bool big_endian);

#endif
