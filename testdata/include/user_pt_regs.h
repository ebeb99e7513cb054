/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What bpf_tracing.h reads registers through on arm64 (the kernel's layout): PT_REGS_PARMn of
 * kprobes, PT_REGS_IP of usdt.bpf.h without BPF cookies. For the objects built per
 * architecture (kernel_hooks, usdt); its own file because a change to vmlinux_min.h changes
 * every object (DWARF 5 records each header's MD5).
 */
#ifndef __USER_PT_REGS_H__
#define __USER_PT_REGS_H__
#if defined(__TARGET_ARCH_arm64)
struct user_pt_regs {
	u64 regs[31];
	u64 sp;
	u64 pc;
	u64 pstate;
} __attribute__((preserve_access_index));
#endif
#endif
