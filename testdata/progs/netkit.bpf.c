// SPDX-License-Identifier: GPL-2.0
/*
 * netkit.bpf.c - the two netkit hooks (test/kernel-netkit.test.ts), each counting
 * the test's own packets in `counts` (packets and bytes, slot 0 primary, slot 1
 * peer) and giving them the verdict `verdict` (NETKIT_PASS or NETKIT_DROP);
 * every other packet passes uncounted.
 *
 * netkit runs a device's programs in its ndo_start_xmit (netkit_xmit), on the
 * packets that device transmits: SEC("netkit/primary") those sent on the
 * primary device, SEC("netkit/peer") those sent on the peer. The test's packets
 * are IPv4 with protocol TEST_PROTO (253, RFC 3692 experimentation), behind an
 * Ethernet header (netkit devices are ether_setup() devices in L3 mode too).
 * Expected: loads on any kernel with tc programs; attaches on Linux 6.7+ with
 * CONFIG_NETKIT.
 */
#include "vmlinux_min.h"
#include <bpf_helpers.h>
#include <bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

/* enum netkit_action (linux/if_link.h), the TC_ACT_* values */
#define NETKIT_PASS	0
#define NETKIT_DROP	2
#define ETH_P_IP	0x0800
#define TEST_PROTO	253

struct counts {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct counts);
} counts SEC(".maps");

/* the verdict for the test's packets (set between sends) */
volatile __u32 verdict = NETKIT_PASS;

static __always_inline int count(struct __sk_buff *skb, __u32 slot)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	struct counts *c;

	if ((void *)(ip + 1) > data_end)
		return NETKIT_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP) || ip->protocol != TEST_PROTO)
		return NETKIT_PASS;
	c = bpf_map_lookup_elem(&counts, &slot);
	if (!c)
		return NETKIT_PASS;
	__sync_fetch_and_add(&c->packets, 1);
	__sync_fetch_and_add(&c->bytes, skb->len);
	return verdict == NETKIT_DROP ? NETKIT_DROP : NETKIT_PASS;
}

SEC("netkit/primary")
int nk_primary(struct __sk_buff *skb)
{
	return count(skb, 0);
}

SEC("netkit/peer")
int nk_peer(struct __sk_buff *skb)
{
	return count(skb, 1);
}
