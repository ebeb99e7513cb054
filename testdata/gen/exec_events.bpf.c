// SPDX-License-Identifier: GPL-2.0
// A program as a user writes it for `corebpf gen exec_events.bpf.c`: vmlinux.h generated from
// kernel BTF and libbpf's headers from the package (test/gen-c.test.ts).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

struct exec_event {
	__u32 pid;
	__u32 ppid;
	__u64 cgroup_id;
	char comm[16];
};
/* a record type the BTF must carry for `gen --type exec_event` (as bpf2go's -type) */
const struct exec_event *unused_exec_event __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} execs SEC(".maps");

const volatile __u32 only_ppid = 0;

SEC("tp/sched/sched_process_exec")
int handle_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 ppid = BPF_CORE_READ(task, real_parent, tgid);
	__u32 zero = 0;
	__u64 *n;

	if (only_ppid && ppid != only_ppid)
		return 0;
	n = bpf_map_lookup_elem(&execs, &zero);
	if (n)
		__sync_fetch_and_add(n, 1);
	struct exec_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->ppid = ppid;
	e->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
