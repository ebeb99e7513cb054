// SPDX-License-Identifier: GPL-2.0
/*
 * btf_newkinds.bpf.c - an object whose BTF uses kinds older kernels reject,
 * so that it loads there only after libbpf sanitizes its BTF for the kernel
 * (test/kernel-btf-sanitize.test.ts):
 *
 *   BTF_KIND_FLOAT      float / double members            (kernel 5.13+)
 *   BTF_KIND_DECL_TAG   btf_decl_tag on a struct member, a global variable,
 *                       a global function and its argument  (5.16+)
 *   BTF_KIND_TYPE_TAG   btf_type_tag on a pointer           (5.17+)
 *   BTF_KIND_ENUM64     an enum with a 64-bit value         (6.0+)
 *
 *   newkinds  SEC("socket"), run with BPF_PROG_TEST_RUN: copies the enum64
 *             value and the bits of the float/double members of `cfg`
 *             (.data) into .bss, and returns tagged_add(cfg.weight, skb->len)
 *             (a global function with a decl-tagged argument).
 * Expected: loads on any kernel >= 5.6 (global functions) with BTF, after
 * sanitization where the kinds above are missing (5.10: all four; 6.1: none).
 */
#include "vmlinux_min.h"
#include <bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

#define __tag(x) __attribute__((btf_decl_tag(x)))
#define __user_tag __attribute__((btf_type_tag("corebpf_user")))

enum big_values {
	BIG_A = 1,
	BIG_B = 0x1122334455667788ULL,
};

struct tagged_cfg {
	int weight __tag("corebpf:weight");
	float ratio;
	double scale;
	int __user_tag *uptr;
	enum big_values kind;
};

struct tagged_cfg cfg __tag("corebpf:cfg") = {
	.weight = 7,
	.ratio = 1.5f,
	.scale = -2.25,
	.uptr = 0,
	.kind = BIG_B,
};

u64 out_kind = 0;
u32 out_ratio_bits = 0;
u64 out_scale_bits = 0;
u32 out_sum = 0;

__noinline __tag("corebpf:global") int tagged_add(int a __tag("corebpf:arg"), int b)
{
	return a + b;
}

SEC("socket")
int newkinds(struct __sk_buff *skb)
{
	union { float f; u32 u; } r;
	union { double d; u64 u; } s;

	r.f = cfg.ratio;
	s.d = cfg.scale;
	out_kind = cfg.kind;
	out_ratio_bits = r.u;
	out_scale_bits = s.u;
	out_sum = tagged_add(cfg.weight, skb->len);
	return out_sum;
}
