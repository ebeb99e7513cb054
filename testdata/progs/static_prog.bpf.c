// SPDX-License-Identifier: GPL-2.0
/*
 * static_prog.bpf.c - a program declared static: libbpf refuses the object at open
 * ("program 'handle' is static and not supported"); the error must keep that reason.
 * Expected: open fails on every kernel with EOPNOTSUPP.
 */
#include "vmlinux_min.h"
#include <bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tracepoint/syscalls/sys_enter_getpid")
static __attribute__((used)) int handle(void *ctx)
{
	return 0;
}
