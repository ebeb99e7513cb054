// SPDX-License-Identifier: GPL-2.0
/*
 * tailcall.bpf.c - a PROG_ARRAY statically initialised with programs
 * (.values = { [i] = &prog }) and tail calls through it, constant index
 * (bpf_tail_call_static) and variable index (bpf_tail_call).
 *
 *   dispatch     SEC("xdp"): entry point; tail-calls jmp_table[0] or, for
 *                an index taken from the packet, jmp_table[idx]
 *   stage_parse  SEC("xdp"), slot 0: tail-calls slot 2
 *   stage_count  SEC("xdp"), slot 2: counts and returns XDP_PASS
 *   stage_drop   SEC("xdp"), slot 5: returns XDP_DROP
 * Slots 1, 3, 4, 6, 7 stay empty: a tail call there falls through.
 * The loader must load the callee programs and fill the map after loading
 * them; the ELF relocations in .maps name the program symbols.
 * Expected: loads on any kernel >= 5.5 (prog_array .values needs libbpf >= 0.7).
 */
#include "vmlinux_min.h"
#include <bpf_helpers.h>
#include <bpf_core_read.h>
#include <bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

int stage_parse(struct xdp_md *ctx);
int stage_count(struct xdp_md *ctx);
int stage_drop(struct xdp_md *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 8);
	__uint(key_size, sizeof(u32));
	__array(values, int (void *));
} jmp_table SEC(".maps") = {
	.values = {
		[0] = (void *)&stage_parse,
		[2] = (void *)&stage_count,
		[5] = (void *)&stage_drop,
	},
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 8);
	__type(key, u32);
	__type(value, u64);
} stage_hits SEC(".maps");

static __always_inline void hit(u32 stage)
{
	u64 *cnt = bpf_map_lookup_elem(&stage_hits, &stage);

	if (cnt)
		*cnt += 1;
}

SEC("xdp")
int dispatch(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	u8 *first = data;

	hit(7);
	if ((void *)(first + 1) <= data_end && *first < 8)
		bpf_tail_call(ctx, &jmp_table, *first);
	bpf_tail_call_static(ctx, &jmp_table, 0);
	return XDP_PASS;	/* empty slot */
}

SEC("xdp")
int stage_parse(struct xdp_md *ctx)
{
	hit(0);
	bpf_tail_call_static(ctx, &jmp_table, 2);
	return XDP_ABORTED;
}

SEC("xdp")
int stage_count(struct xdp_md *ctx)
{
	hit(2);
	return XDP_PASS;
}

SEC("xdp")
int stage_drop(struct xdp_md *ctx)
{
	hit(5);
	return XDP_DROP;
}
