// SPDX-License-Identifier: GPL-2.0
/*
 * attach_fail.bpf.c - an object one of whose programs loads everywhere and attaches
 * nowhere: `corebpf run` must say which program failed and why, and exit non-zero.
 *
 *   on_getpid      SEC("tracepoint/syscalls/sys_enter_getpid"): attaches on every kernel
 *                  with syscall tracepoints
 *   on_nothing     SEC("tracepoint/corebpf_none/no_such_event"): a tracepoint no kernel
 *                  has (tracepoint programs load without checking; the attach fails)
 * Expected: loads; on_getpid attaches, on_nothing fails with ENOENT.
 */
#include "vmlinux_min.h"
#include <bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

u64 hits = 0;

SEC("tracepoint/syscalls/sys_enter_getpid")
int on_getpid(void *ctx)
{
	__sync_fetch_and_add(&hits, 1);
	return 0;
}

SEC("tracepoint/corebpf_none/no_such_event")
int on_nothing(void *ctx)
{
	__sync_fetch_and_add(&hits, 1);
	return 0;
}
