// SPDX-License-Identifier: GPL-2.0
// Object of the load benchmark (bench/cases/load-peers.mjs), compiled by mk/bench.mk with
// clang-16 and the libbpf-dev headers, in two builds:
//
//   build/bench/load_bench.bpf.o         a realistic tool object, execsnoop-like: two
//       tracepoint programs with CO-RE reads (task->real_parent->tgid, the tracepoint
//       context), a ring buffer, two hash maps, a per-CPU scratch array, .rodata (loader
//       knobs), .bss (a drop counter) and .kconfig externs (LINUX_KERNEL_VERSION and
//       CONFIG_HZ: libbpf reads the kernel config for the latter)
//   build/bench/load_bench_nocore.bpf.o  -DLOAD_BENCH_NOCORE: the same without what
//       cilium/ebpf 0.9.1 cannot load on this kernel (bench/README.md, "Against libbpf and
//       cilium/ebpf"): no .kconfig externs and no CO-RE relocations (the context structs
//       have no preserve_access_index, ppid is not read)
//
// Own minimal kernel types instead of vmlinux.h (as libbpf-tools did before vmlinux.h), so
// the object's BTF has only kinds every loader knows.
#include <stdbool.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

#ifdef LOAD_BENCH_NOCORE
#define KTYPE
#else
#define KTYPE __attribute__((preserve_access_index))
#endif

struct task_struct {
	struct task_struct *real_parent;
	int tgid;
} KTYPE;

struct trace_event_raw_sys_enter {
	unsigned long long unused;
	long id;
	unsigned long args[6];
} KTYPE;

struct trace_event_raw_sys_exit {
	unsigned long long unused;
	long id;
	long ret;
} KTYPE;

#define TASK_COMM_LEN 16
#define FILENAME_LEN 64

struct event {
	__u32 pid;
	__u32 ppid;
	__u32 uid;
	__u32 hz;
	__u32 kver;
	char comm[TASK_COMM_LEN];
	char filename[FILENAME_LEN];
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
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct event);
} execs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct event);
} scratch SEC(".maps");

/* .rodata: loader knobs */
const volatile __u32 target_uid = 0;
const volatile bool emit_failed = false;

/* .bss */
__u64 dropped = 0;

#ifndef LOAD_BENCH_NOCORE
extern __u32 LINUX_KERNEL_VERSION __kconfig;
extern int CONFIG_HZ __kconfig __weak;
#endif

SEC("tracepoint/syscalls/sys_enter_execve")
int load_bench_enter(struct trace_event_raw_sys_enter *ctx)
{
	const char *filename;
	struct event *e;
	__u32 zero = 0, pid, uid;

	uid = (__u32)bpf_get_current_uid_gid();
	if (target_uid && uid != target_uid)
		return 0;
	e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		return 0;
	pid = (__u32)bpf_get_current_pid_tgid();
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->uid = uid;
#ifdef LOAD_BENCH_NOCORE
	e->ppid = 0;
	e->hz = 0;
	e->kver = 0;
	filename = (const char *)ctx->args[0];
#else
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->hz = CONFIG_HZ;
	e->kver = LINUX_KERNEL_VERSION;
	filename = (const char *)BPF_CORE_READ(ctx, args[0]);
#endif
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	if (bpf_probe_read_user_str(e->filename, sizeof(e->filename), filename) < 0)
		e->filename[0] = '\0';
	bpf_map_update_elem(&execs, &pid, e, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_execve")
int load_bench_exit(struct trace_event_raw_sys_exit *ctx)
{
	struct event *pending, *e;
	__u64 one = 1, *cnt;
	__u32 pid;
	long ret;

	pid = (__u32)bpf_get_current_pid_tgid();
	pending = bpf_map_lookup_elem(&execs, &pid);
	if (!pending)
		return 0;
#ifdef LOAD_BENCH_NOCORE
	ret = ctx->ret;
#else
	ret = BPF_CORE_READ(ctx, ret);
#endif
	if (ret < 0 && !emit_failed)
		goto cleanup;
	cnt = bpf_map_lookup_elem(&counts, &pending->uid);
	if (cnt)
		__sync_fetch_and_add(cnt, 1);
	else
		bpf_map_update_elem(&counts, &pending->uid, &one, BPF_NOEXIST);
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&dropped, 1);
		goto cleanup;
	}
	__builtin_memcpy(e, pending, sizeof(*e));
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
cleanup:
	bpf_map_delete_elem(&execs, &pid);
	return 0;
}
