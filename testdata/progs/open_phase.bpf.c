// SPDX-License-Identifier: GPL-2.0
/*
 * open_phase.bpf.c - an object shaped like bcc's libbpf-tools (fsslower, readahead,
 * biosnoop): it cannot be loaded as compiled, user space adjusts it between
 * bpf_object__open() and bpf_object__load().
 *
 *   tp_placeholder     SEC("tp_btf/dummy_tp"): a placeholder retargeted with
 *                      bpf_program__set_attach_target (e.g. to sched_process_exec)
 *   fentry_placeholder SEC("fentry/dummy_fentry"): the same for fentry (e.g. to
 *                      do_unlinkat; needs BPF trampolines)
 *   kprobe_unlink      SEC("kprobe/do_unlinkat"): turned off where kprobes are missing
 *   block_io_start     SEC("tp_btf/block_io_start"): a tracepoint added in Linux 6.5
 *                      (biosnoop's case): turned off for older kernels
 *   counts             a hash without max_entries: sized at open
 *   percpu_hits        a per-CPU array sized at open (e.g. by the CPU count)
 *   kprobe_hits        used by kprobe_unlink only (selective load leaves it out)
 *   shared_seen        pinned by name (a reused pinned map)
 * Expected: nothing loads until the placeholders are retargeted or turned off and
 * `counts` is sized.
 */
#include "vmlinux_min.h"
#include <bpf_helpers.h>
#include <bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

const volatile u32 target_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, u32);
	__type(value, u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} percpu_hits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} kprobe_hits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} shared_seen SEC(".maps");

static __always_inline void count(u32 slot)
{
	u32 tgid = bpf_get_current_pid_tgid() >> 32;
	u64 one = 1, *v;
	u32 zero = 0;

	if (target_tgid && tgid != target_tgid)
		return;
	v = bpf_map_lookup_elem(&counts, &tgid);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&counts, &tgid, &one, BPF_NOEXIST);
	v = bpf_map_lookup_elem(&percpu_hits, &zero);
	if (v)
		*v += 1;
	v = bpf_map_lookup_elem(&shared_seen, &slot);
	if (v)
		__sync_fetch_and_add(v, 1);
}

SEC("tp_btf/dummy_tp")
int BPF_PROG(tp_placeholder)
{
	count(0);
	return 0;
}

SEC("fentry/dummy_fentry")
int BPF_PROG(fentry_placeholder)
{
	count(1);
	return 0;
}

SEC("kprobe/do_unlinkat")
int kprobe_unlink(struct pt_regs *ctx)
{
	u32 zero = 0;
	u64 *v = bpf_map_lookup_elem(&kprobe_hits, &zero);

	if (v)
		__sync_fetch_and_add(v, 1);
	return 0;
}

SEC("tp_btf/block_io_start")
int BPF_PROG(block_io_start)
{
	count(2);
	return 0;
}
