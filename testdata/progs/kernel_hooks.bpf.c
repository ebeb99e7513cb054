// SPDX-License-Identifier: GPL-2.0
/*
 * kernel_hooks.bpf.c - one program per kind of kernel hook, each recording
 * what it saw of a call the test makes itself (test/kernel-tracing.test.ts):
 *
 *   read(fd, buf, magic_len) on /dev/zero from the test process, seen by
 *     kprobe_vfs_read       SEC("kprobe/vfs_read")       BPF_KPROBE: count argument (PT_REGS_PARM3)
 *     kretprobe_vfs_read    SEC("kretprobe/vfs_read")    BPF_KRETPROBE: return value (PT_REGS_RC)
 *     ksyscall_read         SEC("ksyscall/read")         BPF_KSYSCALL: fd and count (syscall wrapper
 *                                                        regs, LINUX_HAS_SYSCALL_WRAPPER kconfig)
 *     kretsyscall_read      SEC("kretsyscall/read")      return value
 *     fentry_vfs_read       SEC("fentry/vfs_read")       BPF_PROG: typed count argument
 *     fexit_vfs_read        SEC("fexit/vfs_read")        count and return value
 *     tp_btf_sys_enter      SEC("tp_btf/sys_enter")      syscall id, fd and count from the user regs
 *     raw_tp_sys_enter      SEC("raw_tp/sys_enter")      the same through BPF_RAW_TRACEPOINT_OPEN
 *   ioctl(fd, magic_cmd, arg) from the test process, seen by
 *     lsm_file_ioctl        SEC("lsm/file_ioctl")        records arg and DENIES it with -EPERM
 *
 * Every program counts only calls of the process `target_tgid` with the magic
 * count / command, so stray calls (other processes, Node's own reads) are never
 * counted: the tests assert exact counts and payloads.
 *
 * PT_REGS differ per architecture: this source is built twice, with
 * __TARGET_ARCH_x86 (kernel_hooks.x86.bpf.o) and __TARGET_ARCH_arm64
 * (kernel_hooks.arm64.bpf.o); the test picks by process.arch.
 * Hooked functions are in the BTF and kallsyms of every Debian kernel 5.10 .. 7.x
 * (amd64, arm64). Expected: kprobe* needs CONFIG_KPROBE_EVENTS, fentry/fexit BPF
 * trampolines, lsm CONFIG_BPF_LSM with bpf in lsm=, tp_btf 5.5+, all with BTF.
 */
#include "vmlinux_min.h"
#include "user_pt_regs.h"
#include <bpf_helpers.h>
#include <bpf_core_read.h>
#include <bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

#define EPERM 1

const volatile u32 target_tgid = 0;
const volatile u64 magic_len = 0;
const volatile u32 magic_cmd = 0;
/* __NR_read of the running architecture (sys_enter reports syscall numbers) */
const volatile s64 read_nr = -1;

struct hit {
	u64 count;
	u64 arg;	/* an argument the program saw: the count, fd or ioctl arg */
	s64 ret;	/* the return value it saw (exit programs) */
};

struct hit kprobe_hit = {};
struct hit kretprobe_hit = {};
struct hit ksyscall_hit = {};
struct hit kretsyscall_hit = {};
struct hit fentry_hit = {};
struct hit fexit_hit = {};
struct hit tp_btf_hit = {};
struct hit raw_tp_hit = {};
struct hit lsm_hit = {};

static __always_inline bool mine(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == target_tgid;
}

static __always_inline void record(struct hit *h, u64 arg, s64 ret)
{
	__sync_fetch_and_add(&h->count, 1);
	h->arg = arg;
	h->ret = ret;
}

SEC("kprobe/vfs_read")
int BPF_KPROBE(kprobe_vfs_read, struct file *file, char *buf, size_t count)
{
	if (mine() && count == magic_len)
		record(&kprobe_hit, count, 0);
	return 0;
}

SEC("kretprobe/vfs_read")
int BPF_KRETPROBE(kretprobe_vfs_read, ssize_t ret)
{
	if (mine() && ret == (ssize_t)magic_len)
		record(&kretprobe_hit, 0, ret);
	return 0;
}

SEC("ksyscall/read")
int BPF_KSYSCALL(ksyscall_read, int fd, void *buf, size_t count)
{
	if (mine() && count == magic_len)
		record(&ksyscall_hit, fd, 0);
	return 0;
}

SEC("kretsyscall/read")
int BPF_KRETPROBE(kretsyscall_read, long ret)
{
	if (mine() && ret == (long)magic_len)
		record(&kretsyscall_hit, 0, ret);
	return 0;
}

SEC("fentry/vfs_read")
int BPF_PROG(fentry_vfs_read, struct file *file, char *buf, size_t count, loff_t *pos)
{
	if (mine() && count == magic_len)
		record(&fentry_hit, count, 0);
	return 0;
}

SEC("fexit/vfs_read")
int BPF_PROG(fexit_vfs_read, struct file *file, char *buf, size_t count, loff_t *pos, ssize_t ret)
{
	if (mine() && count == magic_len)
		record(&fexit_hit, count, ret);
	return 0;
}

static __always_inline void sys_enter(struct hit *h, struct pt_regs *regs, long id)
{
	if (!mine() || id != read_nr)
		return;
	if (PT_REGS_PARM3_CORE_SYSCALL(regs) != magic_len)
		return;
	record(h, PT_REGS_PARM1_CORE_SYSCALL(regs), id);
}

SEC("tp_btf/sys_enter")
int BPF_PROG(tp_btf_sys_enter, struct pt_regs *regs, long id)
{
	sys_enter(&tp_btf_hit, regs, id);
	return 0;
}

SEC("raw_tp/sys_enter")
int BPF_PROG(raw_tp_sys_enter, struct pt_regs *regs, long id)
{
	sys_enter(&raw_tp_hit, regs, id);
	return 0;
}

SEC("lsm/file_ioctl")
int BPF_PROG(lsm_file_ioctl, struct file *file, unsigned int cmd, unsigned long arg, int ret)
{
	if (ret)
		return ret;
	if (!mine() || cmd != magic_cmd)
		return 0;
	record(&lsm_hit, arg, -EPERM);
	return -EPERM;
}
