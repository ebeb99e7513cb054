// SPDX-License-Identifier: GPL-2.0
/*
 * execmon: every exec(), as a typed event through a BPF ring buffer.
 *
 * SEC("tp/sched/sched_process_exec") runs after the new program is in place: the
 * task's comm is already the new one, and the tracepoint's record carries the file
 * name (a __data_loc string). The parent's pid comes from the task_struct through
 * CO-RE reads (task->real_parent->tgid): libbpf relocates the two field offsets for
 * whichever kernel loads it.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

#define COMM_LEN 16
#define FILENAME_LEN 128

struct event {
	__u32 pid;
	__u32 ppid;
	__u32 uid;
	char comm[COMM_LEN];
	char filename[FILENAME_LEN];
};
/* the ring buffer's records have no BTF of their own: this puts struct event in the
 * object's BTF, where `corebpf gen --type event` finds it (as bpf2go's -type) */
const struct event *unused_event __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* set before load: only the children of this process (0: every exec) */
const volatile __u32 target_ppid = 0;

/* execs seen, and events lost because the ring buffer was full */
__u64 execs = 0;
__u64 dropped = 0;

SEC("tp/sched/sched_process_exec")
int handle_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 ppid = BPF_CORE_READ(task, real_parent, tgid);
	struct event *e;
	unsigned int off;

	if (target_ppid && ppid != target_ppid)
		return 0;
	__sync_fetch_and_add(&execs, 1);

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&dropped, 1);
		return 0;
	}
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->ppid = ppid;
	e->uid = (__u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	/* __data_loc: the low 16 bits are the string's offset in the record */
	off = BPF_CORE_READ(ctx, __data_loc_filename) & 0xFFFF;
	bpf_probe_read_kernel_str(&e->filename, sizeof(e->filename), (void *)ctx + off);
	bpf_ringbuf_submit(e, 0);
	return 0;
}
