// SPDX-License-Identifier: GPL-2.0
/*
 * heldout_filemtime.bpf.c - a tool written against one kernel only (6.1): it reads
 * inode::i_mtime (a timespec64) with no fallback. The field became __i_mtime in 6.6 and
 * i_mtime_sec in 6.11, so the read's relocation fails, reachably, on exactly the kernel
 * fixtures whose inode has no i_mtime; `check` must fail it there (with the path to the
 * poisoned instruction) and pass it elsewhere. open_count has no such read: it passes
 * everywhere.
 *
 * Expected: loads on kernels < 6.6 with BPF trampolines (read_mtime); open_count on any.
 */
#include "vmlinux_min.h"
#include <bpf_helpers.h>
#include <bpf_core_read.h>
#include <bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

struct timespec64___old {
	s64 tv_sec;
	long tv_nsec;
} __attribute__((preserve_access_index));

struct inode___old {
	struct timespec64___old i_mtime;
} __attribute__((preserve_access_index));

const volatile bool verbose = false;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
} rb SEC(".maps");

u64 opens;

SEC("fentry/vfs_unlink")
int BPF_PROG(read_mtime, void *idmap, struct inode *dir, struct dentry *dentry)
{
	struct inode___old *inode = (void *)BPF_CORE_READ(dentry, d_inode);
	s64 *sec;

	if (!inode)
		return 0;
	sec = bpf_ringbuf_reserve(&rb, sizeof(*sec), 0);
	if (!sec)
		return 0;
	*sec = BPF_CORE_READ(inode, i_mtime.tv_sec);
	if (verbose)
		bpf_printk("mtime %lld", *sec);
	bpf_ringbuf_submit(sec, 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_openat")
int open_count(void *ctx)
{
	__sync_fetch_and_add(&opens, 1);
	return 0;
}
