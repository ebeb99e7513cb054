// SPDX-License-Identifier: GPL-2.0
/*
 * bench_tasks.bpf.c - the relocation benchmark object: eight tracing programs
 * that each read many task_struct / mm_struct / cred / signal_struct / fs /
 * files / nsproxy fields through CO-RE, as a process-monitoring agent would.
 * About a hundred CO-RE relocations over a few hundred instructions: the
 * realistic input for measuring relocation speed (npm run bench).
 *
 * Covers: long BPF_CORE_READ pointer chains (mm->exe_file->f_path.dentry->
 * d_name.name), array members (signal->rlim[RLIMIT_NOFILE]), typedef'd
 * struct members (cred->uid.val), anonymous-union fields in the kernel
 * (file.f_path, dentry.d_name), tracepoint and raw_tracepoint contexts.
 * Results go to per-CPU array maps.
 *
 * Expected: loads and relocates on any x86-64 kernel >= 5.14 with BTF.
 */
#include "vmlinux_min.h"
#include <bpf_helpers.h>
#include <bpf_core_read.h>
#include <bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

#define RLIMIT_NOFILE 7
#define NAME_LEN 32

struct sched_sample {
	u32 prev_pid, next_pid;
	s64 prev_state;
	u32 pid, tgid;
	s32 prio, static_prio, normal_prio;
	u32 rt_priority, policy, on_cpu;
	u64 nvcsw, nivcsw, utime, stime;
};

struct exec_sample {
	u32 pid, old_pid;
	u64 arg_start, arg_end, env_start, env_end;
	u64 start_code, end_code, start_stack;
	u64 exe_ino;
	char exe_name[NAME_LEN];
};

struct fs_sample {
	u64 filename_ptr;
	s32 umask, users;
	u32 max_fds, next_fd;
	u64 root_dentry;
	char pwd_name[NAME_LEN];
};

struct cred_sample {
	u64 syscall_id, regs_di;
	u32 uid, gid, euid, egid, suid, sgid, fsuid, fsgid;
	u32 securebits, real_uid;
	u64 cap_effective, user_ns;
};

struct exit_sample {
	u32 pid;
	s32 exit_code, exit_signal;
	s32 nr_threads, live, group_exit_code, leader;
	s16 oom_score_adj;
	u64 utime, stime, cutime, cstime;
	u64 nvcsw, nivcsw, min_flt, maj_flt, maxrss;
	u64 nofile_cur, nofile_max, tty;
};

struct fork_sample {
	u32 parent_pid, child_pid;
	u32 leader_pid, pid_level, pid_nr;
	u32 pidns_level, pidns_inum, utsns_inum;
	char nodename[NAME_LEN];
};

struct mem_sample {
	s64 ret;
	u64 hiwater_rss, hiwater_vm, total_vm, locked_vm, pinned_vm;
	u64 data_vm, exec_vm, stack_vm, start_brk, brk;
	s32 map_count, mm_users;
};

struct ident_sample {
	u32 pid, tgid, ppid, sessionid, loginuid;
	u32 flags, personality;
	u64 start_time, start_boottime, min_flt, maj_flt;
	char comm[16];
	char parent_comm[16];
};

#define SAMPLE_MAP(name, vtype)				\
	struct {					\
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);	\
		__uint(max_entries, 1);			\
		__type(key, u32);			\
		__type(value, vtype);			\
	} name SEC(".maps")

SAMPLE_MAP(sched_samples, struct sched_sample);
SAMPLE_MAP(exec_samples, struct exec_sample);
SAMPLE_MAP(fs_samples, struct fs_sample);
SAMPLE_MAP(cred_samples, struct cred_sample);
SAMPLE_MAP(exit_samples, struct exit_sample);
SAMPLE_MAP(fork_samples, struct fork_sample);
SAMPLE_MAP(mem_samples, struct mem_sample);
SAMPLE_MAP(ident_samples, struct ident_sample);

static const u32 zero;

static __always_inline struct task_struct *current_task(void)
{
	return (struct task_struct *)bpf_get_current_task();
}

SEC("tracepoint/sched/sched_switch")
int bench_sched_switch(struct trace_event_raw_sched_switch *ctx)
{
	struct task_struct *t = current_task();
	struct sched_sample *s = bpf_map_lookup_elem(&sched_samples, &zero);

	if (!s)
		return 0;
	s->prev_pid = BPF_CORE_READ(ctx, prev_pid);
	s->next_pid = BPF_CORE_READ(ctx, next_pid);
	s->prev_state = BPF_CORE_READ(ctx, prev_state);
	s->pid = BPF_CORE_READ(t, pid);
	s->tgid = BPF_CORE_READ(t, tgid);
	s->prio = BPF_CORE_READ(t, prio);
	s->static_prio = BPF_CORE_READ(t, static_prio);
	s->normal_prio = BPF_CORE_READ(t, normal_prio);
	s->rt_priority = BPF_CORE_READ(t, rt_priority);
	s->policy = BPF_CORE_READ(t, policy);
	s->on_cpu = BPF_CORE_READ(t, on_cpu);
	s->nvcsw = BPF_CORE_READ(t, nvcsw);
	s->nivcsw = BPF_CORE_READ(t, nivcsw);
	s->utime = BPF_CORE_READ(t, utime);
	s->stime = BPF_CORE_READ(t, stime);
	return 0;
}

SEC("tracepoint/sched/sched_process_exec")
int bench_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct task_struct *t = current_task();
	struct exec_sample *s = bpf_map_lookup_elem(&exec_samples, &zero);
	struct mm_struct *mm;
	const unsigned char *name;

	if (!s)
		return 0;
	s->pid = BPF_CORE_READ(ctx, pid);
	s->old_pid = BPF_CORE_READ(ctx, old_pid);
	mm = BPF_CORE_READ(t, mm);
	s->arg_start = BPF_CORE_READ(mm, arg_start);
	s->arg_end = BPF_CORE_READ(mm, arg_end);
	s->env_start = BPF_CORE_READ(mm, env_start);
	s->env_end = BPF_CORE_READ(mm, env_end);
	s->start_code = BPF_CORE_READ(mm, start_code);
	s->end_code = BPF_CORE_READ(mm, end_code);
	s->start_stack = BPF_CORE_READ(mm, start_stack);
	s->exe_ino = BPF_CORE_READ(mm, exe_file, f_inode, i_ino);
	name = BPF_CORE_READ(mm, exe_file, f_path.dentry, d_name.name);
	bpf_probe_read_kernel_str(s->exe_name, sizeof(s->exe_name), name);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_openat")
int bench_openat(struct trace_event_raw_sys_enter *ctx)
{
	struct task_struct *t = current_task();
	struct fs_sample *s = bpf_map_lookup_elem(&fs_samples, &zero);
	struct fs_struct *fs;
	struct files_struct *files;
	const unsigned char *name;

	if (!s)
		return 0;
	s->filename_ptr = BPF_CORE_READ(ctx, args[1]);
	fs = BPF_CORE_READ(t, fs);
	s->umask = BPF_CORE_READ(fs, umask);
	s->users = BPF_CORE_READ(fs, users);
	s->root_dentry = (u64)BPF_CORE_READ(fs, root.mnt, mnt_root);
	name = BPF_CORE_READ(fs, pwd.dentry, d_name.name);
	bpf_probe_read_kernel_str(s->pwd_name, sizeof(s->pwd_name), name);
	files = BPF_CORE_READ(t, files);
	s->max_fds = BPF_CORE_READ(files, fdt, max_fds);
	s->next_fd = BPF_CORE_READ(files, next_fd);
	return 0;
}

SEC("raw_tracepoint/sys_enter")
int bench_raw_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *t = current_task();
	struct cred_sample *s = bpf_map_lookup_elem(&cred_samples, &zero);
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	const struct cred *cred;

	if (!s)
		return 0;
	s->syscall_id = ctx->args[1];
	s->regs_di = PT_REGS_PARM1_CORE(regs);
	cred = BPF_CORE_READ(t, cred);
	s->uid = BPF_CORE_READ(cred, uid.val);
	s->gid = BPF_CORE_READ(cred, gid.val);
	s->euid = BPF_CORE_READ(cred, euid.val);
	s->egid = BPF_CORE_READ(cred, egid.val);
	s->suid = BPF_CORE_READ(cred, suid.val);
	s->sgid = BPF_CORE_READ(cred, sgid.val);
	s->fsuid = BPF_CORE_READ(cred, fsuid.val);
	s->fsgid = BPF_CORE_READ(cred, fsgid.val);
	s->securebits = BPF_CORE_READ(cred, securebits);
	BPF_CORE_READ_INTO(&s->cap_effective, cred, cap_effective);
	s->user_ns = (u64)BPF_CORE_READ(cred, user_ns);
	s->real_uid = BPF_CORE_READ(t, real_cred, uid.val);
	return 0;
}

SEC("tracepoint/sched/sched_process_exit")
int bench_exit(struct trace_event_raw_sched_process_template *ctx)
{
	struct task_struct *t = current_task();
	struct exit_sample *s = bpf_map_lookup_elem(&exit_samples, &zero);
	struct signal_struct *sig;

	if (!s)
		return 0;
	s->pid = BPF_CORE_READ(ctx, pid);
	s->exit_code = BPF_CORE_READ(t, exit_code);
	s->exit_signal = BPF_CORE_READ(t, exit_signal);
	sig = BPF_CORE_READ(t, signal);
	s->nr_threads = BPF_CORE_READ(sig, nr_threads);
	s->live = BPF_CORE_READ(sig, live.counter);
	s->group_exit_code = BPF_CORE_READ(sig, group_exit_code);
	s->leader = BPF_CORE_READ(sig, leader);
	s->oom_score_adj = BPF_CORE_READ(sig, oom_score_adj);
	s->utime = BPF_CORE_READ(sig, utime);
	s->stime = BPF_CORE_READ(sig, stime);
	s->cutime = BPF_CORE_READ(sig, cutime);
	s->cstime = BPF_CORE_READ(sig, cstime);
	s->nvcsw = BPF_CORE_READ(sig, nvcsw);
	s->nivcsw = BPF_CORE_READ(sig, nivcsw);
	s->min_flt = BPF_CORE_READ(sig, min_flt);
	s->maj_flt = BPF_CORE_READ(sig, maj_flt);
	s->maxrss = BPF_CORE_READ(sig, maxrss);
	s->nofile_cur = BPF_CORE_READ(sig, rlim[RLIMIT_NOFILE].rlim_cur);
	s->nofile_max = BPF_CORE_READ(sig, rlim[RLIMIT_NOFILE].rlim_max);
	s->tty = (u64)BPF_CORE_READ(sig, tty);
	return 0;
}

SEC("tracepoint/sched/sched_process_fork")
int bench_fork(struct trace_event_raw_sched_process_fork *ctx)
{
	struct task_struct *t = current_task();
	struct fork_sample *s = bpf_map_lookup_elem(&fork_samples, &zero);
	struct nsproxy *ns;

	if (!s)
		return 0;
	s->parent_pid = BPF_CORE_READ(ctx, parent_pid);
	s->child_pid = BPF_CORE_READ(ctx, child_pid);
	s->leader_pid = BPF_CORE_READ(t, group_leader, pid);
	s->pid_level = BPF_CORE_READ(t, thread_pid, level);
	s->pid_nr = BPF_CORE_READ(t, thread_pid, numbers[0].nr);
	ns = BPF_CORE_READ(t, nsproxy);
	s->pidns_level = BPF_CORE_READ(ns, pid_ns_for_children, level);
	s->pidns_inum = BPF_CORE_READ(ns, pid_ns_for_children, ns.inum);
	s->utsns_inum = BPF_CORE_READ(ns, uts_ns, ns.inum);
	BPF_CORE_READ_STR_INTO(&s->nodename, ns, uts_ns, name.nodename);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_read")
int bench_exit_read(struct trace_event_raw_sys_exit *ctx)
{
	struct task_struct *t = current_task();
	struct mem_sample *s = bpf_map_lookup_elem(&mem_samples, &zero);
	struct mm_struct *mm;

	if (!s)
		return 0;
	s->ret = BPF_CORE_READ(ctx, ret);
	mm = BPF_CORE_READ(t, mm);
	if (!mm)
		return 0;
	s->hiwater_rss = BPF_CORE_READ(mm, hiwater_rss);
	s->hiwater_vm = BPF_CORE_READ(mm, hiwater_vm);
	s->total_vm = BPF_CORE_READ(mm, total_vm);
	s->locked_vm = BPF_CORE_READ(mm, locked_vm);
	s->pinned_vm = BPF_CORE_READ(mm, pinned_vm.counter);
	s->data_vm = BPF_CORE_READ(mm, data_vm);
	s->exec_vm = BPF_CORE_READ(mm, exec_vm);
	s->stack_vm = BPF_CORE_READ(mm, stack_vm);
	s->start_brk = BPF_CORE_READ(mm, start_brk);
	s->brk = BPF_CORE_READ(mm, brk);
	s->map_count = BPF_CORE_READ(mm, map_count);
	s->mm_users = BPF_CORE_READ(mm, mm_users.counter);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getuid")
int bench_ident(struct trace_event_raw_sys_enter *ctx)
{
	struct task_struct *t = current_task();
	struct ident_sample *s = bpf_map_lookup_elem(&ident_samples, &zero);

	if (!s)
		return 0;
	s->pid = BPF_CORE_READ(t, pid);
	s->tgid = BPF_CORE_READ(t, tgid);
	s->ppid = BPF_CORE_READ(t, real_parent, tgid);
	s->sessionid = BPF_CORE_READ(t, sessionid);
	s->loginuid = BPF_CORE_READ(t, loginuid.val);
	s->flags = BPF_CORE_READ(t, flags);
	s->personality = BPF_CORE_READ(t, personality);
	s->start_time = BPF_CORE_READ(t, start_time);
	s->start_boottime = BPF_CORE_READ(t, start_boottime);
	s->min_flt = BPF_CORE_READ(t, min_flt);
	s->maj_flt = BPF_CORE_READ(t, maj_flt);
	BPF_CORE_READ_STR_INTO(&s->comm, t, comm);
	BPF_CORE_READ_STR_INTO(&s->parent_comm, t, real_parent, comm);
	return 0;
}
