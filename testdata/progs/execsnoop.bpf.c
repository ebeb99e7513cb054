// SPDX-License-Identifier: GPL-2.0
/*
 * execsnoop.bpf.c - a realistic tool object, modelled on libbpf-tools'
 * execsnoop: trace execve() and report one event per exec through a ring
 * buffer.
 *
 * sys_enter_execve stores the pending exec (pid, ppid via CO-RE
 * real_parent->tgid, uid, comm, filename) in a hash map; sys_exit_execve
 * emits it into the ringbuf `events` when the exec succeeded (or always, with
 * emit_failed) and counts execs per uid in `counts`.
 *
 * Loader knobs (.rodata): target_uid (0 = all users), emit_failed.
 * Expected: loads on any x86-64 kernel >= 5.8 (ringbuf) with BTF.
 */
#include "vmlinux_min.h"
#include <bpf_helpers.h>
#include <bpf_core_read.h>
#include <bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

#define TASK_COMM_LEN 16
#define FILENAME_LEN 64

struct event {
	u32 pid;
	u32 ppid;
	u32 uid;
	char comm[TASK_COMM_LEN];
	char filename[FILENAME_LEN];
};

/* the ring buffer carries struct event (its BTF comes with `execs`) */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, u32);	/* uid */
	__type(value, u64);	/* number of execs */
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, u32);	/* pid (thread id) */
	__type(value, struct event);
} execs SEC(".maps");

/* scratch space: struct event is too large to build on the 512-byte stack
 * comfortably together with the rest, so use a per-CPU slot */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct event);
} scratch SEC(".maps");

const volatile u32 target_uid = 0;
const volatile bool emit_failed = false;

SEC("tracepoint/syscalls/sys_enter_execve")
int tracepoint__syscalls__sys_enter_execve(struct trace_event_raw_sys_enter *ctx)
{
	struct task_struct *task;
	const char *filename;
	struct event *e;
	u32 zero = 0, pid, uid;

	uid = (u32)bpf_get_current_uid_gid();
	if (target_uid && uid != target_uid)
		return 0;

	e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		return 0;

	pid = (u32)bpf_get_current_pid_tgid();
	task = (struct task_struct *)bpf_get_current_task();

	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->uid = uid;
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	filename = (const char *)BPF_CORE_READ(ctx, args[0]);
	if (bpf_probe_read_user_str(e->filename, sizeof(e->filename), filename) < 0)
		e->filename[0] = '\0';

	bpf_map_update_elem(&execs, &pid, e, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_execve")
int tracepoint__syscalls__sys_exit_execve(struct trace_event_raw_sys_exit *ctx)
{
	struct event *pending, *e;
	u64 one = 1, *cnt;
	u32 pid;
	long ret;

	pid = (u32)bpf_get_current_pid_tgid();
	pending = bpf_map_lookup_elem(&execs, &pid);
	if (!pending)
		return 0;

	ret = BPF_CORE_READ(ctx, ret);
	if (ret < 0 && !emit_failed)
		goto cleanup;

	cnt = bpf_map_lookup_elem(&counts, &pending->uid);
	if (cnt)
		__sync_fetch_and_add(cnt, 1);
	else
		bpf_map_update_elem(&counts, &pending->uid, &one, BPF_NOEXIST);

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		goto cleanup;
	__builtin_memcpy(e, pending, sizeof(*e));
	/* comm changes at exec: report the new one */
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);

cleanup:
	bpf_map_delete_elem(&execs, &pid);
	return 0;
}
