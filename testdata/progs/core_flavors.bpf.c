// SPDX-License-Identifier: GPL-2.0
/*
 * core_flavors.bpf.c - struct flavors (the ___suffix convention) against REAL
 * kernel BTF: one program per kernel change that tools have to cope with.
 *
 *   task_state:   task_struct 'state' (long, < 5.14) vs '__state' (u32)
 *   start_time:   task_struct 'real_start_time' (< 5.5) vs 'start_boottime'
 *   capabilities: kernel_cap_t as { u64 val } (>= 6.3) vs { u32 cap[2] }
 *   fork_comm:    sched_process_fork record: 'char parent_comm[16]' vs a
 *                 '__data_loc' string (newer kernels)
 *   dentry_name:  dentry 'd_iname' (< 6.14) vs d_name.name
 *
 * Each program guards the flavor-specific read with bpf_core_field_exists, so
 * on any one kernel the relocations of the other flavor FAIL (are poisoned)
 * but sit in dead code: libbpf must poison them and the verifier must still
 * accept the program.  This is the normal, expected shape of CO-RE code.
 * Expected: loads on any x86-64 kernel with BTF.
 */
#include "vmlinux_min.h"
#include <bpf_helpers.h>
#include <bpf_core_read.h>
#include <bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

struct task_struct___pre514 {
	volatile long int state;
} __attribute__((preserve_access_index));

struct task_struct___pre55 {
	u64 real_start_time;
} __attribute__((preserve_access_index));

struct kernel_cap_struct___pre63 {
	__u32 cap[2];
} __attribute__((preserve_access_index));

struct cred___pre63 {
	struct kernel_cap_struct___pre63 cap_effective;
} __attribute__((preserve_access_index));

struct trace_event_raw_sched_process_fork___comm {
	char parent_comm[16];
	pid_t parent_pid;
	char child_comm[16];
	pid_t child_pid;
} __attribute__((preserve_access_index));

struct trace_event_raw_sched_process_fork___loc {
	u32 __data_loc_parent_comm;
	pid_t parent_pid;
	u32 __data_loc_child_comm;
	pid_t child_pid;
} __attribute__((preserve_access_index));

struct flavor_sample {
	s64 state;
	u64 start_time;
	u64 cap_effective;
	u32 parent_pid;
	u32 child_pid;
	char child_comm[16];
	char dentry_name[40];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct flavor_sample);
} samples SEC(".maps");

static __always_inline struct flavor_sample *sample(void)
{
	u32 zero = 0;

	return bpf_map_lookup_elem(&samples, &zero);
}

SEC("tracepoint/syscalls/sys_enter_nanosleep")
int task_state(void *ctx)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct task_struct___pre514 *old = (void *)t;
	struct flavor_sample *s = sample();

	if (!s)
		return 0;
	if (bpf_core_field_exists(t->__state))
		s->state = BPF_CORE_READ(t, __state);
	else
		s->state = BPF_CORE_READ(old, state);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_clock_nanosleep")
int start_time(void *ctx)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct task_struct___pre55 *old = (void *)t;
	struct flavor_sample *s = sample();

	if (!s)
		return 0;
	if (bpf_core_field_exists(t->start_boottime))
		s->start_time = BPF_CORE_READ(t, start_boottime);
	else
		s->start_time = BPF_CORE_READ(old, real_start_time);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_capget")
int capabilities(void *ctx)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	const struct cred *cred = BPF_CORE_READ(t, cred);
	struct flavor_sample *s = sample();

	if (!s)
		return 0;
	if (bpf_core_field_exists(cred->cap_effective.val)) {
		s->cap_effective = BPF_CORE_READ(cred, cap_effective.val);
	} else {
		struct cred___pre63 *old = (void *)cred;
		u32 lo = BPF_CORE_READ(old, cap_effective.cap[0]);
		u32 hi = BPF_CORE_READ(old, cap_effective.cap[1]);

		s->cap_effective = ((u64)hi << 32) | lo;
	}
	return 0;
}

SEC("tracepoint/sched/sched_process_fork")
int fork_comm(void *ctx)
{
	struct trace_event_raw_sched_process_fork___comm *c = ctx;
	struct trace_event_raw_sched_process_fork___loc *l = ctx;
	struct flavor_sample *s = sample();

	if (!s)
		return 0;
	if (bpf_core_field_exists(l->__data_loc_child_comm)) {
		u32 loc = BPF_CORE_READ(l, __data_loc_child_comm);

		s->parent_pid = BPF_CORE_READ(l, parent_pid);
		s->child_pid = BPF_CORE_READ(l, child_pid);
		bpf_probe_read_kernel_str(s->child_comm, sizeof(s->child_comm),
					  (void *)ctx + (loc & 0xffff));
	} else {
		s->parent_pid = BPF_CORE_READ(c, parent_pid);
		s->child_pid = BPF_CORE_READ(c, child_pid);
		BPF_CORE_READ_STR_INTO(&s->child_comm, c, child_comm);
	}
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_fchdir")
int dentry_name(void *ctx)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct dentry *d = BPF_CORE_READ(t, fs, pwd.dentry);
	struct flavor_sample *s = sample();

	if (!s)
		return 0;
	if (bpf_core_field_exists(d->d_iname))
		BPF_CORE_READ_STR_INTO(&s->dentry_name, d, d_iname);
	else
		bpf_probe_read_kernel_str(s->dentry_name, sizeof(s->dentry_name),
					  BPF_CORE_READ(d, d_name.name));
	return 0;
}
