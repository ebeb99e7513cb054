// SPDX-License-Identifier: GPL-2.0
/*
 * struct_ops.bpf.c - a TCP congestion control written in BPF (BPF_PROG_TYPE_STRUCT_OPS),
 * modelled on the kernel selftests' bpf_cubic / tcp_ca examples: Reno-style slow start
 * and congestion avoidance on tcp_sock's snd_cwnd, registered through struct_ops maps.
 *
 *   corebpf_ca      SEC(".struct_ops"): registered by updating the map (any kernel with
 *                   struct_ops, 5.6+); name "corebpf_ca"
 *   corebpf_ca_link SEC(".struct_ops.link"): the same programs, registered through a
 *                   BPF_LINK_CREATE struct_ops link (6.4+; older kernels refuse the map's
 *                   BPF_F_LINK flag); name "corebpf_ca_lnk"
 *   corebpf_ca_link2 SEC(".struct_ops.link"): the same ops under the same name with another
 *                   init (counting into updated_inits), for BPF_LINK_UPDATE of the link
 *                   (libbpf's bpf_link__update_map: the kernel wants the same name)
 *
 * The programs count what they see of connections to or from `target_port` (set by user
 * space before it connects): init once per socket, ssthresh / cong_avoid / undo_cwnd calls.
 * Expected: loads on x86-64 kernels >= 5.6 with BTF and BPF trampolines (struct_ops);
 * kernels without them refuse the programs (EPERM / ENOTSUPP).
 */
#include "vmlinux_min.h"
#include <bpf_helpers.h>
#include <bpf_core_read.h>
#include <bpf_tracing.h>
#include <bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)
struct tcp_sock {
	u32 snd_cwnd;
	u32 snd_ssthresh;
	u32 prior_cwnd;
};

/* the members used; libbpf matches them to the kernel's by name */
struct tcp_congestion_ops {
	u32 (*ssthresh)(struct sock *sk);
	void (*cong_avoid)(struct sock *sk, u32 ack, u32 acked);
	u32 (*undo_cwnd)(struct sock *sk);
	void (*init)(struct sock *sk);
	char name[16];
};
#pragma clang attribute pop

u16 target_port = 0;
u64 client_inits = 0;   /* init on the connecting socket (remote port = target_port) */
u64 server_inits = 0;   /* init on the accepted socket (local port = target_port) */
u64 ssthresh_calls = 0;
u64 cong_avoid_calls = 0;
u64 undo_calls = 0;
u64 updated_inits = 0;  /* init of corebpf_ca_link2, on either side */

static __always_inline bool ours(struct sock *sk)
{
	return target_port && (sk->__sk_common.skc_num == target_port ||
			       bpf_ntohs(sk->__sk_common.skc_dport) == target_port);
}

SEC("struct_ops/corebpf_init")
void BPF_PROG(corebpf_init, struct sock *sk)
{
	if (!target_port)
		return;
	if (sk->__sk_common.skc_num == target_port)
		__sync_fetch_and_add(&server_inits, 1);
	else if (bpf_ntohs(sk->__sk_common.skc_dport) == target_port)
		__sync_fetch_and_add(&client_inits, 1);
}

SEC("struct_ops/corebpf_init2")
void BPF_PROG(corebpf_init2, struct sock *sk)
{
	if (ours(sk))
		__sync_fetch_and_add(&updated_inits, 1);
}

SEC("struct_ops/corebpf_ssthresh")
u32 BPF_PROG(corebpf_ssthresh, struct sock *sk)
{
	struct tcp_sock *tp = (struct tcp_sock *)sk;
	u32 half = tp->snd_cwnd >> 1;

	if (ours(sk))
		__sync_fetch_and_add(&ssthresh_calls, 1);
	return half > 2 ? half : 2;
}

SEC("struct_ops/corebpf_cong_avoid")
void BPF_PROG(corebpf_cong_avoid, struct sock *sk, u32 ack, u32 acked)
{
	struct tcp_sock *tp = (struct tcp_sock *)sk;

	if (ours(sk))
		__sync_fetch_and_add(&cong_avoid_calls, 1);
	if (tp->snd_cwnd < tp->snd_ssthresh)
		tp->snd_cwnd = tp->snd_cwnd + (acked ? acked : 1);   /* slow start */
	else
		tp->snd_cwnd = tp->snd_cwnd + 1;
}

SEC("struct_ops/corebpf_undo_cwnd")
u32 BPF_PROG(corebpf_undo_cwnd, struct sock *sk)
{
	struct tcp_sock *tp = (struct tcp_sock *)sk;

	if (ours(sk))
		__sync_fetch_and_add(&undo_calls, 1);
	return tp->snd_cwnd > tp->prior_cwnd ? tp->snd_cwnd : tp->prior_cwnd;
}

SEC(".struct_ops")
struct tcp_congestion_ops corebpf_ca = {
	.init = (void *)corebpf_init,
	.ssthresh = (void *)corebpf_ssthresh,
	.cong_avoid = (void *)corebpf_cong_avoid,
	.undo_cwnd = (void *)corebpf_undo_cwnd,
	.name = "corebpf_ca",
};

SEC(".struct_ops.link")
struct tcp_congestion_ops corebpf_ca_link = {
	.init = (void *)corebpf_init,
	.ssthresh = (void *)corebpf_ssthresh,
	.cong_avoid = (void *)corebpf_cong_avoid,
	.undo_cwnd = (void *)corebpf_undo_cwnd,
	.name = "corebpf_ca_lnk",
};

SEC(".struct_ops.link")
struct tcp_congestion_ops corebpf_ca_link2 = {
	.init = (void *)corebpf_init2,
	.ssthresh = (void *)corebpf_ssthresh,
	.cong_avoid = (void *)corebpf_cong_avoid,
	.undo_cwnd = (void *)corebpf_undo_cwnd,
	.name = "corebpf_ca_lnk",
};
