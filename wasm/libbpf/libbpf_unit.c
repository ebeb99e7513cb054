/* libbpf.c compiled as part of this translation unit (it is not compiled on its own), so
 * that the virtual kernel can reach one private field of struct bpf_object.
 *
 * libbpf converts a non-native (e.g. big-endian) object's instructions and BTF to host
 * order at open, and then refuses to load it: a real kernel of the host's byte order
 * could not run it. The virtual kernel stands in for a kernel of the *object's* byte
 * order (an s390x target, say), so it lets the load proceed and writes the plan back in
 * the object's byte order (corebpf.c). */
#include "libbpf.c"

/* byte order of the object's ELF file: ELFDATA2LSB or ELFDATA2MSB */
int vk_object_byteorder(const struct bpf_object *obj)
{
	return obj->byteorder;
}

/* let bpf_object__load() run on a non-native object (after open converted it) */
void vk_object_claim_native(struct bpf_object *obj)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	obj->byteorder = ELFDATA2LSB;
#else
	obj->byteorder = ELFDATA2MSB;
#endif
}
