// SPDX-License-Identifier: GPL-2.0
/*
 * guards.bpf.c - failed CO-RE relocations in dead code ("guarded") and one that is
 * not, for `corebpf check`'s reachability analysis (src/analysis/reach.ts). Each guard
 * is a constant libbpf patches in at load time; the failing branch is dead on the kernels
 * where its relocation fails, so libbpf poisons it and the verifier never visits it.
 *
 *   state_flavor      task_struct __state (>= 5.14) vs state, bpf_core_field_exists()
 *   type_guard        bpf_core_type_exists(struct bpf_timer) (5.15+) around a read of its
 *                     __opaque (a missing type's size relocates to 0, a field read fails).
 *                     The guard is not enough on 6.1, whose bpf_timer is two anonymous
 *                     bitfields: there the read runs and FAILS (reachable), as the
 *                     verifier agrees
 *   enum_guard        bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_loop) (5.17+)
 *                     around its value
 *   kconfig_version   LINUX_KERNEL_VERSION >= 5.14 picks the flavor (.kconfig, no exists)
 *   kconfig_arch      CONFIG_X86 / CONFIG_ARM64 (__weak) pick pt_regs' ip / pc
 *   subprog_guard     the __state guard inside a __noinline sub-program (state_of)
 *   subprog_returns   a __noinline sub-program returns the guard (has_state), the caller
 *                     branches on it
 *   unguarded_state   reads __state with no guard: FAILS (reachable) where __state is
 *                     missing (< 5.14), relocates elsewhere
 *
 * Expected: loads on any kernel with BTF and tracepoints, except unguarded_state < 5.14
 * and type_guard on 6.1.
 */
#include "vmlinux_min.h"
#include <bpf_helpers.h>
#include <bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

extern u32 LINUX_KERNEL_VERSION __kconfig;
extern bool CONFIG_X86 __kconfig __weak;
extern bool CONFIG_ARM64 __kconfig __weak;

struct task_struct___old {
	volatile long int state;
} __attribute__((preserve_access_index));

struct task_struct___new {
	unsigned int __state;
} __attribute__((preserve_access_index));

struct bpf_timer___local {
	u64 __opaque[2];
} __attribute__((preserve_access_index));

enum bpf_func_id___local {
	BPF_FUNC_loop___local = 181,
};

struct pt_regs___x86 {
	long unsigned int ip;
} __attribute__((preserve_access_index));

struct pt_regs___arm64 {
	u64 pc;
} __attribute__((preserve_access_index));

long out_state;
long out_sub_state;
long out_sub_ret_state;
u64 out_timer_size;
u64 out_loop_id;
u64 out_ip;

static __always_inline struct task_struct *current_task(void)
{
	return (struct task_struct *)bpf_get_current_task();
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int state_flavor(void *ctx)
{
	struct task_struct___new *t = (void *)current_task();

	if (bpf_core_field_exists(t->__state))
		out_state = BPF_CORE_READ(t, __state);
	else
		out_state = BPF_CORE_READ((struct task_struct___old *)t, state);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int type_guard(void *ctx)
{
	/* not a bpf_timer: only the relocation matters */
	struct bpf_timer___local *timer = ctx;

	if (bpf_core_type_exists(struct bpf_timer___local))
		out_timer_size = BPF_CORE_READ(timer, __opaque[1]);
	else
		out_timer_size = 0;
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int enum_guard(void *ctx)
{
	if (bpf_core_enum_value_exists(enum bpf_func_id___local, BPF_FUNC_loop___local))
		out_loop_id = bpf_core_enum_value(enum bpf_func_id___local, BPF_FUNC_loop___local);
	else
		out_loop_id = 0;
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int kconfig_version(void *ctx)
{
	void *t = current_task();

	if (LINUX_KERNEL_VERSION >= KERNEL_VERSION(5, 14, 0))
		out_state = BPF_CORE_READ((struct task_struct___new *)t, __state);
	else
		out_state = BPF_CORE_READ((struct task_struct___old *)t, state);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int kconfig_arch(void *ctx)
{
	/* not a pt_regs: only the relocations matter (a probe read of a bad address fails) */
	void *regs = ctx;

	if (CONFIG_X86)
		out_ip = BPF_CORE_READ((struct pt_regs___x86 *)regs, ip);
	else if (CONFIG_ARM64)
		out_ip = BPF_CORE_READ((struct pt_regs___arm64 *)regs, pc);
	return 0;
}

static __noinline long state_of(void *task)
{
	struct task_struct___new *t = task;

	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return BPF_CORE_READ((struct task_struct___old *)task, state);
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int subprog_guard(void *ctx)
{
	out_sub_state = state_of(current_task());
	return 0;
}

static __noinline int has_state(void)
{
	return bpf_core_field_exists(struct task_struct___new, __state);
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int subprog_returns(void *ctx)
{
	void *t = current_task();

	if (has_state())
		out_sub_ret_state = BPF_CORE_READ((struct task_struct___new *)t, __state);
	else
		out_sub_ret_state = BPF_CORE_READ((struct task_struct___old *)t, state);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int unguarded_state(void *ctx)
{
	struct task_struct___new *t = (void *)current_task();

	out_state = BPF_CORE_READ(t, __state);
	return 0;
}
