// SPDX-License-Identifier: GPL-2.0
/*
 * xdp_parse.bpf.c - an XDP program that parses and EDITS packets with
 * direct packet access: Ethernet -> IPv4/IPv6 -> UDP/TCP.
 *
 *   xdp_echo   SEC("xdp"): UDP to port 7 (echo) over IPv4 is turned around
 *              in place (swap MACs, IPs and ports, recompute nothing else
 *              since the IPv4 checksum is invariant under the swap and UDP
 *              checksum 0 is allowed) and sent back with XDP_TX; TCP SYNs
 *              to ports in the `blocked_ports` hash are dropped; everything
 *              else passes.  Per-protocol packet/byte counters live in a
 *              PERCPU_ARRAY.
 * Covers: bounds checks against data_end, variable IPv4 header length
 * (ihl), IPv6 fixed header, bitfield access of wire structs (ihl, doff, syn),
 * bpf_htons/bpf_ntohs, packet writes.  No CO-RE (wire formats are fixed).
 * Expected: loads on any kernel with XDP.
 */
#include "vmlinux_min.h"
#include <bpf_helpers.h>
#include <bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

#define ETH_P_IP	0x0800
#define ETH_P_IPV6	0x86DD
#define IPPROTO_TCP	6
#define IPPROTO_UDP	17
#define ECHO_PORT	7

enum { STAT_OTHER, STAT_IPV4, STAT_IPV6, STAT_UDP, STAT_TCP, STAT_ECHOED, STAT_DROPPED, STAT_MAX };

struct stat {
	u64 packets;
	u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STAT_MAX);
	__type(key, u32);
	__type(value, struct stat);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, u16);	/* port, host order */
	__type(value, u8);
} blocked_ports SEC(".maps");

static __always_inline void count(u32 idx, u64 bytes)
{
	struct stat *s = bpf_map_lookup_elem(&stats, &idx);

	if (s) {
		s->packets++;
		s->bytes += bytes;
	}
}

static __always_inline void swap_mac(struct ethhdr *eth)
{
	unsigned char tmp[6];

	__builtin_memcpy(tmp, eth->h_source, 6);
	__builtin_memcpy(eth->h_source, eth->h_dest, 6);
	__builtin_memcpy(eth->h_dest, tmp, 6);
}

static __always_inline int handle_tcp(struct tcphdr *tcp, void *data_end, u64 len)
{
	u16 dport;

	if ((void *)(tcp + 1) > data_end)
		return XDP_PASS;
	if (tcp->doff < 5)
		return XDP_DROP;
	count(STAT_TCP, len);
	dport = bpf_ntohs(tcp->dest);
	if (tcp->syn && !tcp->ack && bpf_map_lookup_elem(&blocked_ports, &dport)) {
		count(STAT_DROPPED, len);
		return XDP_DROP;
	}
	return XDP_PASS;
}

SEC("xdp")
int xdp_echo(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	u64 len = data_end - data;
	struct ethhdr *eth = data;
	struct iphdr *ip;
	struct ipv6hdr *ip6;
	struct udphdr *udp;
	u32 ihl_bytes, tmp_addr;
	u16 tmp_port;

	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;

	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		ip6 = (void *)(eth + 1);
		if ((void *)(ip6 + 1) > data_end)
			return XDP_DROP;
		count(STAT_IPV6, len);
		if (ip6->nexthdr == IPPROTO_TCP)
			return handle_tcp((void *)(ip6 + 1), data_end, len);
		return XDP_PASS;
	}
	if (eth->h_proto != bpf_htons(ETH_P_IP)) {
		count(STAT_OTHER, len);
		return XDP_PASS;
	}

	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return XDP_DROP;
	count(STAT_IPV4, len);
	ihl_bytes = ip->ihl * 4;
	if (ihl_bytes < sizeof(*ip) || ihl_bytes > 60)
		return XDP_DROP;
	if ((void *)ip + ihl_bytes > data_end)
		return XDP_DROP;

	if (ip->protocol == IPPROTO_TCP)
		return handle_tcp((void *)ip + ihl_bytes, data_end, len);
	if (ip->protocol != IPPROTO_UDP)
		return XDP_PASS;

	udp = (void *)ip + ihl_bytes;
	if ((void *)(udp + 1) > data_end)
		return XDP_DROP;
	count(STAT_UDP, len);
	if (udp->dest != bpf_htons(ECHO_PORT))
		return XDP_PASS;

	/* turn the datagram around in place */
	swap_mac(eth);
	tmp_addr = ip->saddr;
	ip->saddr = ip->daddr;
	ip->daddr = tmp_addr;
	tmp_port = udp->source;
	udp->source = udp->dest;
	udp->dest = tmp_port;
	udp->check = 0;
	count(STAT_ECHOED, len);
	return XDP_TX;
}
