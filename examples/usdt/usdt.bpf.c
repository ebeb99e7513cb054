// SPDX-License-Identifier: GPL-2.0
/*
 * usdt: a USDT probe's arguments, as typed events through a ring buffer.
 *
 * USDT probes (sys/sdt.h's DTRACE_PROBE / STAP_PROBE) are no-ops in the traced program
 * with a note saying where each argument lives (a register, memory, a constant). libbpf's
 * usdt.bpf.h and its BPF_USDT() read them by that note: the loader fills a map of argument
 * specs when it attaches and passes the spec's id as the BPF cookie. Kernels without BPF
 * cookies (before 5.15) make usdt.bpf.h look the spec up by the probe's address, read with
 * PT_REGS_IP: there the object is for the architecture it was compiled for (--target-arch).
 *
 * The probe here is corebpf:plain(int a, long b, void *p) of test/c/usdt_target.c; the
 * binary is named when attaching (SEC("usdt") without a target).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

char LICENSE[] SEC("license") = "GPL";

struct event {
	__u32 pid;
	__s32 a;
	__s64 b;
	__u64 p;
	__u64 cookie; /* the USDT cookie given when attaching */
	__s32 argc; /* the argument count the probe's note declares */
};
const struct event *unused_event __attribute__((unused)); /* struct event in the BTF, for gen --type */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} events SEC(".maps");

__u64 hits = 0;

SEC("usdt")
int BPF_USDT(on_plain, int a, long b, void *p)
{
	struct event *e;

	__sync_fetch_and_add(&hits, 1);
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->a = a;
	e->b = b;
	e->p = (__u64)p;
	e->cookie = bpf_usdt_cookie(ctx);
	e->argc = bpf_usdt_arg_cnt(ctx);
	bpf_ringbuf_submit(e, 0);
	return 0;
}
