/* The object's byte order in the plan. A non-native object (big-endian, for s390x) was
 * converted to host order by libbpf at open; the plan is written back in the object's
 * byte order for a kernel of that order. */
#include <byteswap.h>
#include <errno.h>
#include <gelf.h>

#include "btf.h"
#include "libbpf.h"
#include "libbpf_internal.h"

#include "inputs.h"
#include "libbpf/libbpf_units.h"
#include "plan.h"
#include "target.h"

bool plan_swapped;
bool plan_big; /* the object's byte order, taken before libbpf is told it is native */

void plan_bswap32_array(void *data, size_t len)
{
	uint32_t *w = data;
	size_t i;

	for (i = 0; i < len / 4; i++)
		w[i] = bswap_32(w[i]);
}

void plan_bswap_n(uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n / 2; i++) {
		uint8_t t = p[i];

		p[i] = p[n - 1 - i];
		p[n - 1 - i] = t;
	}
}

/* integers libbpf wrote into the .kconfig image (host order): swap each to the object's */
void plan_swap_kconfig_image(const struct btf *btf, uint32_t datasec_id, uint8_t *img, size_t len)
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
		plan_bswap_n(img + vi->offset, vi->size);
	}
}

/* The object runs on the target kernel: their byte orders must agree. A non-native object
 * is let through libbpf's load (see wasm/libbpf/libbpf_unit.c) and written back swapped. */
int plan_check_byte_order(struct bpf_object *obj)
{
	bool obj_big = vk_object_byteorder(obj) == ELFDATA2MSB;
	struct btf *t = target_get(cb_in.target);
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
