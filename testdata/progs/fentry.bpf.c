// SPDX-License-Identifier: GPL-2.0
/*
 * fentry.bpf.c - fentry/fexit programs (BPF_PROG_TYPE_TRACING through BPF
 * trampolines): the loader must resolve the attach target, a kernel FUNC
 * (do_unlinkat), to its BTF id in the target kernel's BTF.
 *
 *   unlink_entry  SEC("fentry/do_unlinkat"): typed arguments through
 *                 BPF_PROG; direct read of name->name (CO-RE LDX)
 *   unlink_exit   SEC("fexit/do_unlinkat"): the arguments plus the return
 *                 value
 * Expected: loads on x86-64 kernels >= 5.5 with BTF and BPF trampolines;
 * kernels/VMs without them refuse the load (EPERM or ENOTSUPP), so real-
 * kernel tests must treat that as "not supported", not as a loader bug.
 */
#include "vmlinux_min.h"
#include <bpf_helpers.h>
#include <bpf_core_read.h>
#include <bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

struct unlink_event {
	s32 dfd;
	s32 ret;
	char name[64];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, u32);
	__type(value, struct unlink_event);
} unlinks SEC(".maps");

SEC("fentry/do_unlinkat")
int BPF_PROG(unlink_entry, int dfd, struct filename *name)
{
	u32 tid = (u32)bpf_get_current_pid_tgid();
	struct unlink_event ev = { .dfd = dfd };

	bpf_probe_read_kernel_str(ev.name, sizeof(ev.name), name->name);
	bpf_map_update_elem(&unlinks, &tid, &ev, BPF_ANY);
	return 0;
}

SEC("fexit/do_unlinkat")
int BPF_PROG(unlink_exit, int dfd, struct filename *name, int ret)
{
	u32 tid = (u32)bpf_get_current_pid_tgid();
	struct unlink_event *ev = bpf_map_lookup_elem(&unlinks, &tid);

	if (ev)
		ev->ret = ret;
	return 0;
}
