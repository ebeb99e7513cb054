// Benchmark object for the warm open + load case (bench/open-load-probe.mjs): a tracepoint
// tool written as libbpf-tools write them, against a full vmlinux.h (bpftool btf dump of
// this machine's kernel, at bench time), so its DWARF is as large as theirs (~95% of the
// file): CO-RE reads, a ring buffer, a hash map, .rodata knobs, .bss counters and
// .kconfig externs. Built by mk/bench.mk into $(BUILD)/bench/open_load.bpf.o.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

#define TASK_COMM_LEN 16

struct event {
	__u32 pid;
	__u32 ppid;
	__u32 uid;
	__u32 hz;
	__u64 start_ns;
	char comm[TASK_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} starts SEC(".maps");

const volatile __u32 target_tgid = 0;
const volatile bool trace_exits = true;

__u64 seen = 0;
__u64 dropped = 0;

extern int CONFIG_HZ __kconfig __weak;
extern unsigned int LINUX_KERNEL_VERSION __kconfig;

SEC("tracepoint/sched/sched_process_exec")
int handle_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u64 ts = bpf_ktime_get_ns();
	struct event *e;

	if (target_tgid && tgid != target_tgid)
		return 0;
	__sync_fetch_and_add(&seen, 1);
	bpf_map_update_elem(&starts, &tgid, &ts, BPF_ANY);
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&dropped, 1);
		return 0;
	}
	e->pid = tgid;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->hz = LINUX_KERNEL_VERSION >= KERNEL_VERSION(5, 8, 0) ? CONFIG_HZ : 0;
	e->start_ns = BPF_CORE_READ(task, start_time);
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tracepoint/sched/sched_process_exit")
int handle_exit(struct trace_event_raw_sched_process_template *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u64 *start;

	if (!trace_exits || BPF_CORE_READ(task, pid) != tgid)
		return 0;
	start = bpf_map_lookup_elem(&starts, &tgid);
	if (!start)
		return 0;
	bpf_map_delete_elem(&starts, &tgid);
	return 0;
}
