// SPDX-License-Identifier: GPL-2.0
/*
 * socket_filter.bpf.c - a socket filter (SEC("socket"), attach with
 * SO_ATTACH_BPF) that INSPECTS packets without direct packet access:
 *
 *   sock_filter_tcp   keeps TCP over IPv4 (whole packet), truncates other
 *                     IPv4 packets to their IP header, drops non-IPv4; reads
 *                     headers with bpf_skb_load_bytes() and the legacy
 *                     load_byte/load_half (BPF_LD | BPF_ABS) instructions,
 *                     and fields of struct __sk_buff (len, protocol, ifindex)
 *   sock_count        counts packets per IP protocol in an ARRAY map and
 *                     accepts everything
 * Expected: loads on any kernel with BPF socket filters.
 */
#include "vmlinux_min.h"
#include <bpf_helpers.h>
#include <bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

#define ETH_HLEN	14
#define ETH_P_IP	0x0800
#define IPPROTO_TCP	6

/* BPF_LD | BPF_ABS / BPF_IND loads, as in the kernel samples */
unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, unsigned long long off) asm("llvm.bpf.load.half");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 256);
	__type(key, u32);
	__type(value, u64);
} proto_counts SEC(".maps");

u64 last_ifindex;

SEC("socket")
int sock_filter_tcp(struct __sk_buff *skb)
{
	struct iphdr ip;

	if (skb->protocol != bpf_htons(ETH_P_IP))
		return 0;				/* drop */
	if (load_half(skb, offsetof(struct ethhdr, h_proto)) != ETH_P_IP)
		return 0;
	if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof(ip)) < 0)
		return 0;
	last_ifindex = skb->ifindex;
	if (ip.protocol == IPPROTO_TCP)
		return skb->len;			/* keep whole packet */
	return ETH_HLEN + ip.ihl * 4;			/* truncate */
}

SEC("socket")
int sock_count(struct __sk_buff *skb)
{
	u32 proto = load_byte(skb, ETH_HLEN + offsetof(struct iphdr, protocol));
	u64 *cnt = bpf_map_lookup_elem(&proto_counts, &proto);

	if (cnt)
		__sync_fetch_and_add(cnt, 1);
	return -1;					/* accept all */
}
