// SPDX-License-Identifier: GPL-2.0
/*
 * uprobe-latency: how long a user-space function takes, as a log2 histogram (as bcc's
 * funclatency). A uprobe on the function's entry stores the time per thread; the
 * uretprobe on its return adds the difference to bucket log2(ns): bucket i counts the
 * calls that took [2^i, 2^(i+1)) nanoseconds (bucket 0 also those under 1 ns).
 *
 * Both programs are SEC("uprobe") / SEC("uretprobe") without a target: user space names
 * the binary and the symbol when it attaches. Neither reads registers (no PT_REGS): the
 * object is the same for every architecture.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

#define MAX_SLOTS 32

/* thread id -> bpf_ktime_get_ns() at the function's entry */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} starts SEC(".maps");

/* bucket log2(ns) -> calls */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} hist SEC(".maps");

/* the sum of every latency, and returns without a recorded entry (attached mid-call) */
__u64 total_ns = 0;
__u64 unmatched = 0;

static __always_inline __u32 log2_u32(__u32 v)
{
	__u32 r, shift;

	r = (v > 0xFFFF) << 4; v >>= r;
	shift = (v > 0xFF) << 3; v >>= shift; r |= shift;
	shift = (v > 0xF) << 2; v >>= shift; r |= shift;
	shift = (v > 0x3) << 1; v >>= shift; r |= shift;
	r |= (v >> 1);
	return r;
}

static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 hi = v >> 32;

	return hi ? log2_u32(hi) + 32 : log2_u32(v);
}

SEC("uprobe")
int BPF_UPROBE(func_entry)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 ts = bpf_ktime_get_ns();

	bpf_map_update_elem(&starts, &tid, &ts, BPF_ANY);
	return 0;
}

SEC("uretprobe")
int BPF_URETPROBE(func_exit)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 *start = bpf_map_lookup_elem(&starts, &tid);
	__u64 delta, *count;
	__u32 slot;

	if (!start) {
		__sync_fetch_and_add(&unmatched, 1);
		return 0;
	}
	delta = bpf_ktime_get_ns() - *start;
	bpf_map_delete_elem(&starts, &tid);

	slot = log2_u64(delta);
	if (slot >= MAX_SLOTS)
		slot = MAX_SLOTS - 1;
	count = bpf_map_lookup_elem(&hist, &slot);
	if (count)
		__sync_fetch_and_add(count, 1);
	__sync_fetch_and_add(&total_ns, delta);
	return 0;
}
