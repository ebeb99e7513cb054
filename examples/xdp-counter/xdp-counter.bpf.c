// SPDX-License-Identifier: GPL-2.0
/*
 * xdp-counter: packets and bytes arriving on an interface, per IPv4 protocol, counted
 * by an XDP program that lets every packet through (XDP_PASS).
 *
 * The counters are per-CPU arrays: each CPU adds to its own copy without atomics, and
 * user space reads one value per possible CPU and adds them up.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

#define ETH_P_IP 0x0800 /* a #define of linux/if_ether.h: not in the kernel's BTF */

struct datarec {
	__u64 packets;
	__u64 bytes;
};

/* by IPv4 protocol number (IPPROTO_ICMP 1, IPPROTO_TCP 6, IPPROTO_UDP 17, ...) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, struct datarec);
} counts SEC(".maps");

/* everything else: ARP, IPv6, frames too short to parse */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct datarec);
} non_ipv4 SEC(".maps");

static __always_inline void count(void *map, __u32 key, __u64 bytes)
{
	struct datarec *rec = bpf_map_lookup_elem(map, &key);

	if (rec) {
		rec->packets++;
		rec->bytes += bytes;
	}
}

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	__u64 bytes = data_end - data;

	/* the verifier insists on these bounds checks before any read of the packet */
	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP)) {
		count(&non_ipv4, 0, bytes);
		return XDP_PASS;
	}
	count(&counts, ip->protocol, bytes);
	return XDP_PASS;
}
