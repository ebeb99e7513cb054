// SPDX-License-Identifier: GPL-2.0
/*
 * ctx_access.bpf.c - BTF-typed context access (the kernel's btf_ctx_access()), slot by slot,
 * for `check --verify` to ask the lab's kernels about (test/check-verify.test.ts; not part of
 * the corpus in testdata/progs). Each program reads one u64 slot of its attach target's
 * arguments and only compares it with 0, so that the load itself is all the verifier judges.
 * Offline, src/analysis/ctx-access.ts predicts each kernel's verdict from its BTF:
 *
 *   int_ptr, int_ptr_after_call  bpf_modify_return_test(int, int *) slot 1: an int pointer,
 *                                refused before 5.17; the second reads it through r6 after a call
 *   const_void_ptr               kfree(const void *) slot 0: refused before 6.16
 *   char_ptr                     kstrdup(const char *, gfp_t) slot 0: a string, always fine
 *   unlink_slot3                 fentry vfs_unlink slot 3: past 5.10's three arguments,
 *                                `struct inode **` on 6.1-6.x, a struct pointer on 7.x
 *   unlink_exit_slot3            fexit: 5.10's return value; `struct inode **` on 6.1-6.x
 *   unlink_exit_slot4            fexit: past 5.10's return value; the return value on 6.1+
 */
#include "vmlinux_min.h"
#include <bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

u64 seen;

#define READ(slot) do { if (ctx[slot]) seen++; } while (0)

SEC("fentry/bpf_modify_return_test")
int int_ptr(u64 *ctx)
{
	READ(1);
	return 0;
}

SEC("fentry/bpf_modify_return_test")
int int_ptr_after_call(u64 *ctx)
{
	seen = bpf_get_current_pid_tgid();
	READ(1);
	return 0;
}

SEC("fentry/kfree")
int const_void_ptr(u64 *ctx)
{
	READ(0);
	return 0;
}

SEC("fentry/kstrdup")
int char_ptr(u64 *ctx)
{
	READ(0);
	return 0;
}

SEC("fentry/vfs_unlink")
int unlink_slot3(u64 *ctx)
{
	READ(3);
	return 0;
}

SEC("fexit/vfs_unlink")
int unlink_exit_slot3(u64 *ctx)
{
	READ(3);
	return 0;
}

SEC("fexit/vfs_unlink")
int unlink_exit_slot4(u64 *ctx)
{
	READ(4);
	return 0;
}
