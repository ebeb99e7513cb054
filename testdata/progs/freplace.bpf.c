// SPDX-License-Identifier: GPL-2.0
/*
 * freplace.bpf.c - a program and its replacement (libbpf's freplace, BPF_PROG_TYPE_EXT):
 *
 *   xdp_verdict  SEC("xdp"): counts the call and returns what the global function
 *                decide() says (XDP_PASS as compiled)
 *   decide       a global (non-static, noinline) function: the kernel verifies it on its
 *                own, so another program can replace it
 *   new_decide   SEC("freplace/decide"): the replacement, XDP_DROP for frames longer
 *                than `drop_above` bytes; it is loaded against a LOADED xdp_verdict
 *                (bpf_program__set_attach_target(prog, target_fd, "decide"))
 * The same object is opened twice: once to load xdp_verdict (new_decide off), once to
 * load new_decide against it (xdp_verdict off).
 * Expected: xdp_verdict passes every frame; with new_decide attached, frames longer than
 * drop_above are dropped; `replaced` counts the calls of the replacement.
 */
#include "vmlinux_min.h"
#include <bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";


const volatile u32 drop_above = 64;
u64 calls = 0;
u64 replaced = 0;

__attribute__((noinline)) int decide(struct xdp_md *ctx)
{
	return ctx ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int xdp_verdict(struct xdp_md *ctx)
{
	__sync_fetch_and_add(&calls, 1);
	return decide(ctx);
}

SEC("freplace/decide")
int new_decide(struct xdp_md *ctx)
{
	__sync_fetch_and_add(&replaced, 1);
	return ctx->data_end - ctx->data > drop_above ? XDP_DROP : XDP_PASS;
}
