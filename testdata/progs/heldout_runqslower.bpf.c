// SPDX-License-Identifier: GPL-2.0
/*
 * heldout_runqslower.bpf.c - an object in the style of libbpf-tools (runqslower +
 * offcputime + filelife), written the way those tools are, not for this checker: the
 * core_fixes.bpf.h idioms (task_struct state/__state, inode mtime across 6.6 and 6.11
 * renames), tp_btf programs, .rodata knobs, a hash map of wakeup times and a perf event
 * array. Its fallbacks are guarded, so it must check clean on every kernel fixture:
 * whatever relocation fails somewhere sits in dead code there.
 *
 * Expected: loads on any kernel >= 5.5 with BTF (tp_btf) and BPF trampolines (fentry),
 * little or big endian.
 */
#include "vmlinux_min.h"
#include <bpf_helpers.h>
#include <bpf_core_read.h>
#include <bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

#define TASK_RUNNING 0
#define TASK_COMM_LEN 16

const volatile u64 min_us = 10000;
const volatile pid_t targ_pid = 0;
const volatile pid_t targ_tgid = 0;
const volatile bool filter_files = false;

struct event {
	char task[TASK_COMM_LEN];
	char prev_task[TASK_COMM_LEN];
	u64 delta_us;
	s64 prev_state;
	u32 pid;
	u32 prev_pid;
	s64 mtime_sec;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, u32);
	__type(value, u64);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} events SEC(".maps");

/* core_fixes.bpf.h: task_struct::state became __state in 5.14 */
struct task_struct___o {
	volatile long int state;
} __attribute__((preserve_access_index));

struct task_struct___x {
	unsigned int __state;
} __attribute__((preserve_access_index));

static __always_inline __s64 get_task_state(void *task)
{
	struct task_struct___x *t = task;

	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return BPF_CORE_READ((struct task_struct___o *)task, state);
}

/* inode::i_mtime: a timespec64 until 6.6, __i_mtime until 6.11, then i_mtime_sec/_nsec */
struct timespec64___x {
	s64 tv_sec;
	long tv_nsec;
} __attribute__((preserve_access_index));

struct inode___pre66 {
	struct timespec64___x i_mtime;
} __attribute__((preserve_access_index));

struct inode___pre611 {
	struct timespec64___x __i_mtime;
} __attribute__((preserve_access_index));

struct inode___x {
	s64 i_mtime_sec;
} __attribute__((preserve_access_index));

static __always_inline s64 get_mtime_sec(void *inode)
{
	struct inode___x *i = inode;
	struct inode___pre611 *mid = inode;

	if (bpf_core_field_exists(i->i_mtime_sec))
		return BPF_CORE_READ(i, i_mtime_sec);
	if (bpf_core_field_exists(mid->__i_mtime))
		return BPF_CORE_READ(mid, __i_mtime.tv_sec);
	return BPF_CORE_READ((struct inode___pre66 *)inode, i_mtime.tv_sec);
}

static __always_inline int trace_enqueue(u32 tgid, u32 pid)
{
	u64 ts;

	if (!pid)
		return 0;
	if (targ_tgid && targ_tgid != tgid)
		return 0;
	if (targ_pid && targ_pid != pid)
		return 0;

	ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&start, &pid, &ts, 0);
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(handle_sched_wakeup, struct task_struct *p)
{
	return trace_enqueue(p->tgid, p->pid);
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(handle_sched_wakeup_new, struct task_struct *p)
{
	return trace_enqueue(p->tgid, p->pid);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(handle_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	struct event event = {};
	u64 *tsp, delta_us;
	u32 pid;

	/* ivcsw: treat like an enqueue event and store timestamp */
	if (get_task_state(prev) == TASK_RUNNING)
		trace_enqueue(BPF_CORE_READ(prev, tgid), BPF_CORE_READ(prev, pid));

	pid = BPF_CORE_READ(next, pid);

	/* fetch timestamp and calculate delta */
	tsp = bpf_map_lookup_elem(&start, &pid);
	if (!tsp)
		return 0; /* missed enqueue */

	delta_us = (bpf_ktime_get_ns() - *tsp) / 1000;
	if (min_us && delta_us <= min_us)
		return 0;

	event.pid = pid;
	event.prev_pid = BPF_CORE_READ(prev, pid);
	event.delta_us = delta_us;
	event.prev_state = get_task_state(prev);
	bpf_probe_read_kernel_str(&event.task, sizeof(event.task), next->comm);
	bpf_probe_read_kernel_str(&event.prev_task, sizeof(event.prev_task), prev->comm);

	/* output */
	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &event, sizeof(event));

	bpf_map_delete_elem(&start, &pid);
	return 0;
}

SEC("fentry/vfs_unlink")
int BPF_PROG(vfs_unlink, void *arg0, void *arg1, void *arg2)
{
	struct event event = {};
	struct dentry *dentry = filter_files ? arg1 : arg2;
	struct inode *inode = BPF_CORE_READ(dentry, d_inode);

	if (!inode)
		return 0;
	event.pid = bpf_get_current_pid_tgid() >> 32;
	event.mtime_sec = get_mtime_sec(inode);
	event.prev_state = get_task_state((void *)bpf_get_current_task());
	bpf_get_current_comm(&event.task, sizeof(event.task));
	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &event, sizeof(event));
	return 0;
}
