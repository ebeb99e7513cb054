// SPDX-License-Identifier: GPL-2.0
/*
 * verifier_reject.bpf.c - programs that compile and relocate cleanly but that
 * the kernel VERIFIER must reject.  Names contain ___err_ (the corpus-wide
 * convention: a program whose name contains ___err_ is expected to fail to
 * load).  Each program fails for exactly one reason:
 *
 *   reject___err_oob_read       reads 8 bytes at offset 16 of a 16-byte map
 *                               value: "invalid access to map value"
 *   reject___err_null_deref     uses a map lookup result without the NULL
 *                               check: "invalid mem access 'map_value_or_null'"
 *   reject___err_unbounded_loop spins until a packet length changes:
 *                               "infinite loop detected"
 * There are no CO-RE relocations: the failure is purely the verifier's.
 * Expected: every program fails to load, with a verifier log.
 */
#include "vmlinux_min.h"
#include <bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct pair {
	u64 a;
	u64 b;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, struct pair);
} pairs SEC(".maps");

SEC("socket")
int reject___err_oob_read(struct __sk_buff *skb)
{
	u32 key = 0;
	struct pair *p = bpf_map_lookup_elem(&pairs, &key);

	if (!p)
		return 0;
	/* one element past the end of the 16-byte value */
	return *(volatile u64 *)((char *)p + sizeof(*p));
}

SEC("socket")
int reject___err_null_deref(struct __sk_buff *skb)
{
	u32 key = 1;
	struct pair *p = bpf_map_lookup_elem(&pairs, &key);

	/* no NULL check */
	return p->a;
}

SEC("socket")
int reject___err_unbounded_loop(struct __sk_buff *skb)
{
	/* nothing the verifier tracks changes between iterations, so it finds
	 * the same state at the loop head twice */
	while (*(volatile u32 *)&skb->len != 0x12345)
		;
	return 0;
}
