// SPDX-License-Identifier: GPL-2.0
/*
 * usdt.bpf.c - USDT probes through libbpf's usdt.bpf.h (BPF_USDT, bpf_usdt_arg,
 * bpf_usdt_cookie): the corebpf host must fill __bpf_usdt_specs and attach with
 * spec ids as BPF cookies exactly as libbpf's usdt.c does.
 *
 *   usdt_plain   SEC("usdt"): corebpf:plain(int a, long b, void *p) of
 *                test/c/usdt_target.c; sums a (signed, 4 bytes), b (8 bytes)
 *                and p (pointer-sized), counts hits, records the USDT cookie
 *                and the argument count.
 *   usdt_sema    SEC("usdt"): corebpf:sema(int a, long b), a probe with a
 *                semaphore; sums a and b and counts hits.
 * The host attaches both with explicit targets (the test binary's path is
 * known only at run time). Built per architecture (usdt.x86.bpf.o,
 * usdt.arm64.bpf.o): without BPF cookies (before 5.15) usdt.bpf.h finds the
 * spec by PT_REGS_IP. Expected: loads on kernels >= 5.5 (CO-RE not needed).
 */
#include "vmlinux_min.h"
#include "user_pt_regs.h"
#include <bpf_helpers.h>
#include <bpf_tracing.h>
#include <usdt.bpf.h>

char LICENSE[] SEC("license") = "GPL";

/* written by the programs, read by the test through the .bss map */
long plain_hits, plain_a, plain_b, plain_p, plain_cookie, plain_argc;
long sema_hits, sema_a, sema_b;

SEC("usdt")
int BPF_USDT(usdt_plain, int a, long b, void *p)
{
	__sync_fetch_and_add(&plain_hits, 1);
	__sync_fetch_and_add(&plain_a, a);
	__sync_fetch_and_add(&plain_b, b);
	__sync_fetch_and_add(&plain_p, (long)p);
	plain_cookie = bpf_usdt_cookie(ctx);
	plain_argc = bpf_usdt_arg_cnt(ctx);
	return 0;
}

SEC("usdt")
int BPF_USDT(usdt_sema, int a, long b)
{
	__sync_fetch_and_add(&sema_hits, 1);
	__sync_fetch_and_add(&sema_a, a);
	__sync_fetch_and_add(&sema_b, b);
	return 0;
}
