// SPDX-License-Identifier: GPL-2.0
/*
 * uprobe.bpf.c - user-space probes.
 *
 *   uprobe_entry      SEC("uprobe"): no target in the section name; the host
 *                     attaches it to (binary, offset or symbol) it chooses.
 *                     Reads its first two arguments (BPF_UPROBE: pt_regs di/si,
 *                     CO-RE relocated) and copies the string the first one
 *                     points to with bpf_probe_read_user_str.
 *   uretprobe_exit    SEC("uretprobe"): return value (pt_regs ax) and latency
 *   uprobe_getenv     SEC("uprobe/libc.so.6:getenv"): auto-attach form of the
 *                     section name (binary:function)
 * Calls are matched entry/exit per thread in a hash map; finished calls go to
 * a ring buffer.
 * Expected: loads on any x86-64 kernel >= 5.8 with BTF.
 */
#include "vmlinux_min.h"
#include <bpf_helpers.h>
#include <bpf_core_read.h>
#include <bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

struct call {
	u64 start_ns;
	u64 arg1;
	u64 ret;
	u64 latency_ns;
	u32 tid;
	char str[32];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, u32);
	__type(value, struct call);
} inflight SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} calls SEC(".maps");

u64 getenv_calls;

SEC("uprobe")
int BPF_UPROBE(uprobe_entry, const char *str, long arg1)
{
	struct call c = {};

	c.tid = (u32)bpf_get_current_pid_tgid();
	c.start_ns = bpf_ktime_get_ns();
	c.arg1 = arg1;
	bpf_probe_read_user_str(c.str, sizeof(c.str), str);
	bpf_map_update_elem(&inflight, &c.tid, &c, BPF_ANY);
	return 0;
}

SEC("uretprobe")
int BPF_URETPROBE(uretprobe_exit, long ret)
{
	u32 tid = (u32)bpf_get_current_pid_tgid();
	struct call *c, *out;

	c = bpf_map_lookup_elem(&inflight, &tid);
	if (!c)
		return 0;
	out = bpf_ringbuf_reserve(&calls, sizeof(*out), 0);
	if (out) {
		__builtin_memcpy(out, c, sizeof(*out));
		out->ret = ret;
		out->latency_ns = bpf_ktime_get_ns() - c->start_ns;
		bpf_ringbuf_submit(out, 0);
	}
	bpf_map_delete_elem(&inflight, &tid);
	return 0;
}

SEC("uprobe/libc.so.6:getenv")
int BPF_UPROBE(uprobe_getenv, const char *name)
{
	__sync_fetch_and_add(&getenv_calls, 1);
	return 0;
}
