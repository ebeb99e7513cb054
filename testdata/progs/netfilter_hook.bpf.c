// SPDX-License-Identifier: GPL-2.0
/*
 * netfilter_hook.bpf.c - SEC("netfilter") (BPF_PROG_TYPE_NETFILTER, attached
 * with a netfilter BPF link): nf_count counts the IPv4/UDP packets to
 * `nf_dport` and their skb->len (read through BTF: CO-RE on struct sk_buff)
 * and accepts every packet (test/host-socket-attach.test.ts hooks it at
 * NF_INET_LOCAL_IN of the host's own namespace).
 * Apart from socket_attach.bpf.c: libbpf before 1.2 does not know the section.
 * Expected: loads on >= 6.4; older kernels do not know the program type.
 */
#include "vmlinux_min.h"
#include <bpf_helpers.h>
#include <bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

#define IPPROTO_UDP	17
#define NF_ACCEPT	1

/* netfilter's context and the two sk_buff fields read through BTF (CO-RE) */
struct nf_hook_state;
struct sk_buff {
	unsigned int len;
	unsigned char *data;
} __attribute__((preserve_access_index));
struct bpf_nf_ctx {
	const struct nf_hook_state *state;
	struct sk_buff *skb;
};

enum { C_NF, C_NF_BYTES, C_MAX };

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, C_MAX);
	__type(key, u32);
	__type(value, u64);
} counts SEC(".maps");

const volatile u16 nf_dport;

static __always_inline void bump(u32 i, u64 n)
{
	u64 *v = bpf_map_lookup_elem(&counts, &i);

	if (v)
		__sync_fetch_and_add(v, n);
}

SEC("netfilter")
int nf_count(struct bpf_nf_ctx *ctx)
{
	struct sk_buff *skb = ctx->skb;
	struct {
		struct iphdr ip;
		struct udphdr udp;
	} h;

	if (bpf_probe_read_kernel(&h, sizeof(h), skb->data))
		return NF_ACCEPT;
	if (h.ip.version == 4 && h.ip.ihl == 5 && h.ip.protocol == IPPROTO_UDP && h.udp.dest == bpf_htons(nf_dport)) {
		bump(C_NF, 1);
		bump(C_NF_BYTES, skb->len);
	}
	return NF_ACCEPT;
}
