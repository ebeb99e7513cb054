// SPDX-License-Identifier: GPL-2.0
/*
 * tcp_connect.bpf.c - kprobe/kretprobe pair on tcp_v4_connect (like
 * libbpf-tools' tcpconnect) reporting connections through a perf event array.
 *
 * Covers: SEC("kprobe/...") / SEC("kretprobe/...") with BPF_KPROBE /
 * BPF_KRETPROBE (argument and return value read from struct pt_regs, itself
 * CO-RE relocated), fields the kernel keeps in ANONYMOUS unions/structs
 * (sock_common.skc_daddr, skc_dport, ...: declared the same way in
 * vmlinux_min.h), nested struct member access (sk->__sk_common.skc_family),
 * kernel bitfields (skc_reuse) and a field that was a bitfield before 5.6
 * (sk_protocol), both read with BPF_CORE_READ_BITFIELD_PROBED;
 * BPF_MAP_TYPE_PERF_EVENT_ARRAY with bpf_perf_event_output.
 * Expected: loads on any x86-64 kernel with BTF and kprobes.
 */
#include "vmlinux_min.h"
#include <bpf_helpers.h>
#include <bpf_core_read.h>
#include <bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

struct conn_event {
	u32 pid;
	u32 saddr;
	u32 daddr;
	u16 dport;
	u16 sport;
	u16 family;
	u16 protocol;
	u8 state;
	u8 reuse;
	s16 ret;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, u32);
	__type(value, struct sock *);
} sockets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} events SEC(".maps");

SEC("kprobe/tcp_v4_connect")
int BPF_KPROBE(tcp_v4_connect_entry, struct sock *sk)
{
	u32 tid = (u32)bpf_get_current_pid_tgid();

	bpf_map_update_elem(&sockets, &tid, &sk, BPF_ANY);
	return 0;
}

SEC("kretprobe/tcp_v4_connect")
int BPF_KRETPROBE(tcp_v4_connect_exit, int ret)
{
	u32 tid = (u32)bpf_get_current_pid_tgid();
	struct conn_event ev = {};
	struct sock **skp, *sk;

	skp = bpf_map_lookup_elem(&sockets, &tid);
	if (!skp)
		return 0;
	sk = *skp;

	ev.pid = bpf_get_current_pid_tgid() >> 32;
	ev.ret = ret;
	ev.saddr = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
	ev.daddr = BPF_CORE_READ(sk, __sk_common.skc_daddr);
	ev.dport = BPF_CORE_READ(sk, __sk_common.skc_dport);
	ev.sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	ev.family = BPF_CORE_READ(sk, __sk_common.skc_family);
	ev.state = BPF_CORE_READ(sk, __sk_common.skc_state);
	ev.reuse = BPF_CORE_READ_BITFIELD_PROBED(&sk->__sk_common, skc_reuse);
	ev.protocol = BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol);
	bpf_get_current_comm(&ev.comm, sizeof(ev.comm));

	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &ev, sizeof(ev));
	bpf_map_delete_elem(&sockets, &tid);
	return 0;
}
