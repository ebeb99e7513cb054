// SPDX-License-Identifier: GPL-2.0
/*
 * btf_tracing.bpf.c - BTF-typed tracing programs: their attach target is a
 * kernel BTF id the loader must find (btf_trace_<tp>, an iterator), and they
 * dereference kernel pointers DIRECTLY, so CO-RE relocations patch the
 * offsets of load instructions (LDX), not of probe-read arguments.
 *
 *   on_switch     SEC("tp_btf/sched_switch") with BPF_PROG: direct reads
 *                 (next->prio, prev->__state, next->real_parent->tgid),
 *                 BPF_CORE_READ_BITFIELD (direct bitfield read), a
 *                 BPF_MAP_TYPE_TASK_STORAGE map with bpf_task_storage_get
 *   dump_task     SEC("iter/task"): BPF_SEQ_PRINTF (format strings in .rodata)
 * fentry/fexit are in fentry.bpf.c (they need BPF trampolines).
 * Expected: loads on any x86-64 kernel >= 5.11 with BTF (task storage in
 * tracing programs).
 */
#include "vmlinux_min.h"
#include <bpf_helpers.h>
#include <bpf_core_read.h>
#include <bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

struct task_stats {
	u64 switches;
	s32 last_prio;
	u32 state;
	u32 ppid;
	u32 in_iowait;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_stats);
} task_stats_store SEC(".maps");

SEC("tp_btf/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	struct task_stats *s;

	s = bpf_task_storage_get(&task_stats_store, next, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!s)
		return 0;
	s->switches++;
	s->last_prio = next->prio;
	s->state = prev->__state;
	s->ppid = next->real_parent->tgid;
	s->in_iowait = BPF_CORE_READ_BITFIELD(prev, in_iowait);
	return 0;
}

SEC("iter/task")
int dump_task(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;

	if (!task)
		return 0;
	if (ctx->meta->seq_num == 0)
		BPF_SEQ_PRINTF(seq, "    pid     tgid comm\n");
	BPF_SEQ_PRINTF(seq, "%8d %8d %s\n", task->pid, task->tgid, task->comm);
	return 0;
}
