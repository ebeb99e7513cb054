// SPDX-License-Identifier: GPL-2.0
/*
 * ksyms.bpf.c - __ksym externs: kernel symbols resolved by the loader from
 * the target kernel's BTF (typed) or from /proc/kallsyms (untyped), and
 * kfuncs.  None of this is CO-RE; it is libbpf's extern resolution.
 *
 *   bpf_prog_active         typed ksym: a per-CPU kernel VAR in BTF, used
 *                           with bpf_this_cpu_ptr (ld_imm64 BPF_PSEUDO_BTF_ID)
 *   corebpf_no_such_var     typed __weak ksym absent from every kernel:
 *                           resolves to NULL
 *   vfs_read                untyped ksym (const void): an address from
 *                           kallsyms; __weak, so an unreadable kallsyms gives 0
 *   bpf_task_from_pid,      kfuncs (6.2+): calls become BPF_PSEUDO_KFUNC_CALL
 *   bpf_task_release        with the kernel BTF id of the FUNC
 *   corebpf_no_such_kfunc   __weak kfunc absent everywhere: guarded by
 *                           bpf_ksym_exists(), its call is dead code
 * Two programs, so that each part can be loaded alone:
 *   ksym_vars     the typed/untyped variables; the kernel looks typed data
 *                 ksyms up in kallsyms, so it needs CONFIG_KALLSYMS_ALL=y
 *                 (Debian has it; without it: ENOENT at program load)
 *   ksym_kfuncs   the kfuncs
 * Expected: loads on x86-64 kernels >= 6.2 with BTF (and KALLSYMS_ALL).
 */
#include "vmlinux_min.h"
#include <bpf_helpers.h>
#include <bpf_core_read.h>
#include <bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

extern const int bpf_prog_active __ksym;
extern const int corebpf_no_such_var __ksym __weak;
extern const void vfs_read __ksym __weak;
extern struct task_struct *bpf_task_from_pid(s32 pid) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;
extern void corebpf_no_such_kfunc(void) __ksym __weak;

int out_active = -1;
u64 out_vfs_read_addr;
u64 out_missing_var_addr = 1;
s32 out_init_tgid = -1;
bool out_missing_kfunc_called;

SEC("tp_btf/sched_process_exec")
int BPF_PROG(ksym_vars, struct task_struct *p)
{
	const int *active = bpf_this_cpu_ptr(&bpf_prog_active);

	out_active = *active;
	out_vfs_read_addr = (u64)&vfs_read;
	out_missing_var_addr = (u64)&corebpf_no_such_var;
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(ksym_kfuncs, struct task_struct *p)
{
	struct task_struct *init = bpf_task_from_pid(1);

	if (init) {
		out_init_tgid = init->tgid;
		bpf_task_release(init);
	}
	if (bpf_ksym_exists(corebpf_no_such_kfunc)) {
		corebpf_no_such_kfunc();
		out_missing_kfunc_called = true;
	}
	return 0;
}
