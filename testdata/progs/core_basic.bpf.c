// SPDX-License-Identifier: GPL-2.0
/*
 * core_basic.bpf.c - the first CO-RE smoke object: tracepoint programs reading
 * task_struct through CO-RE against real kernel BTF.
 *
 * Covers: BPF_CORE_READ pointer chains (task->real_parent->tgid), direct field
 * reads (pid, tgid, flags, start_time), a string read (comm) with
 * BPF_CORE_READ_STR_INTO, a bitfield (in_execve) with
 * BPF_CORE_READ_BITFIELD_PROBED, bpf_core_field_exists, bpf_core_field_size,
 * bpf_core_type_exists, bpf_core_enum_value(_exists); results go to a BTF
 * hash map and a BTF array map.  Global data: a const volatile .rodata
 * filter, a .bss counter and a .data global.
 *
 * Expected: loads and relocates on any x86-64 kernel >= 5.14 with BTF.
 */
#include "vmlinux_min.h"
#include <bpf_helpers.h>
#include <bpf_core_read.h>
#include <bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

struct task_info {
	__u32 pid;
	__u32 tgid;
	__u32 ppid;
	__u32 flags;
	__u64 start_time;
	__u32 in_execve;
	__u32 comm_len;
	char comm[16];
};

/* indexes into probe_results */
enum {
	PR_HAS_LOGINUID,
	PR_COMM_SIZE,
	PR_HAS_PID_NS,
	PR_PIDTYPE_TGID,
	PR_HAS_PIDS_CGRP,
	PR_PIDS_CGRP_ID,
	PR_LAST_RET,
	PR_MAX,
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct task_info);
} task_infos SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PR_MAX);
	__type(key, __u32);
	__type(value, __u64);
} probe_results SEC(".maps");

/* .rodata: set by the loader before load; 0 = every process */
const volatile __u32 filter_tgid = 0;
/* .bss */
__u64 events_seen;
/* .data */
__u32 sample_every = 1;

static __always_inline void set_result(__u32 idx, __u64 val)
{
	bpf_map_update_elem(&probe_results, &idx, &val, BPF_ANY);
}

SEC("tracepoint/syscalls/sys_enter_getpid")
int handle_getpid(struct trace_event_raw_sys_enter *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct task_info info = {};
	long n;

	info.tgid = BPF_CORE_READ(task, tgid);
	if (filter_tgid && info.tgid != filter_tgid)
		return 0;
	__sync_fetch_and_add(&events_seen, 1);
	if (sample_every > 1 && events_seen % sample_every)
		return 0;

	info.pid = BPF_CORE_READ(task, pid);
	info.ppid = BPF_CORE_READ(task, real_parent, tgid);
	info.flags = BPF_CORE_READ(task, flags);
	info.start_time = BPF_CORE_READ(task, start_time);
	info.in_execve = BPF_CORE_READ_BITFIELD_PROBED(task, in_execve);
	n = BPF_CORE_READ_STR_INTO(&info.comm, task, comm);
	info.comm_len = n > 0 ? n : 0;

	bpf_map_update_elem(&task_infos, &info.pid, &info, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int handle_getppid(struct trace_event_raw_sys_enter *ctx)
{
	set_result(PR_HAS_LOGINUID, bpf_core_field_exists(struct task_struct, loginuid));
	set_result(PR_COMM_SIZE, bpf_core_field_size(struct task_struct, comm));
	set_result(PR_HAS_PID_NS, bpf_core_type_exists(struct pid_namespace));
	set_result(PR_PIDTYPE_TGID, bpf_core_enum_value(enum pid_type, PIDTYPE_TGID));
	if (bpf_core_enum_value_exists(enum cgroup_subsys_id, pids_cgrp_id)) {
		set_result(PR_HAS_PIDS_CGRP, 1);
		set_result(PR_PIDS_CGRP_ID, bpf_core_enum_value(enum cgroup_subsys_id, pids_cgrp_id));
	}
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_getpid")
int handle_getpid_exit(struct trace_event_raw_sys_exit *ctx)
{
	/* ctx is the raw trace record: its fields are CO-RE relocated too */
	set_result(PR_LAST_RET, ctx->ret);
	return 0;
}
