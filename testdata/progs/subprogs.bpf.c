// SPDX-License-Identifier: GPL-2.0
/*
 * subprogs.bpf.c - BPF-to-BPF calls and callbacks: the code libbpf must
 * append to every program that uses it (.text sub-programs), with their
 * func_info / line_info and CO-RE relocations carried along.
 *
 *   static __noinline  mix(), scale(): static sub-programs; scale() calls
 *                      mix() (a call chain inside .text)
 *   global __noinline  global_clamp(): a global function (BTF linkage
 *                      global), verified on its own by the kernel
 *   subprog with CO-RE task_ppid(): a .text function with a CO-RE relocation,
 *                      called from both programs (relocated once per copy)
 *   callbacks          loop_cb() via bpf_loop() and sum_cb() via
 *                      bpf_for_each_map_elem(): ld_imm64 BPF_PSEUDO_FUNC
 *   entry programs     prog_a and prog_b both call mix() and task_ppid()
 * Expected: loads on any x86-64 kernel >= 5.17 (bpf_loop) with BTF.
 */
#include "vmlinux_min.h"
#include <bpf_helpers.h>
#include <bpf_core_read.h>
#include <bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, u32);
	__type(value, u64);
} values SEC(".maps");

u64 result_a, result_b, loop_total, map_total;

static __noinline u64 mix(u64 a, u64 b)
{
	return (a * 31) ^ (b + 7);
}

static __noinline u64 scale(u64 v, u32 factor)
{
	return mix(v, factor) * factor;
}

__noinline int global_clamp(int v, int lo, int hi)
{
	if (v < lo)
		return lo;
	if (v > hi)
		return hi;
	return v;
}

static __noinline u32 task_ppid(void)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();

	return BPF_CORE_READ(t, real_parent, tgid);
}

struct loop_ctx {
	u64 acc;
	u32 seed;
};

static int loop_cb(u32 idx, struct loop_ctx *c)
{
	c->acc += mix(idx, c->seed);
	return idx >= 15;	/* 1 stops the loop */
}

static long sum_cb(void *map, u32 *key, u64 *val, u64 *total)
{
	*total += *val;
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getpid")
int prog_a(void *ctx)
{
	struct loop_ctx lc = { .acc = 0, .seed = task_ppid() };

	bpf_loop(32, loop_cb, &lc, 0);
	loop_total = lc.acc;
	result_a = mix(lc.acc, global_clamp(lc.seed, 0, 1000));
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int prog_b(void *ctx)
{
	u64 total = 0;

	bpf_for_each_map_elem(&values, sum_cb, &total, 0);
	map_total = total;
	result_b = scale(task_ppid(), 3) + mix(total, 1);
	return 0;
}
