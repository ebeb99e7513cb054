// SPDX-License-Identifier: GPL-2.0
/*
 * global_data.bpf.c - global variables in every section libbpf turns into an
 * internal array map: .data, .rodata, .bss and custom .data.NAME,
 * .rodata.NAME and .bss.NAME sections; static and non-static variables,
 * scalars, arrays, structs, strings; reads and writes from the main program
 * and from a static subprogram.  No CO-RE relocations: every access is an
 * ld_imm64 map-value relocation (BPF_PSEUDO_MAP_VALUE + offset).
 *
 * Initial contents a loader must reproduce:
 *   .data          data_counter = 7, data_struct = { 1, 2, "init" },
 *                  static_data = 3
 *   .rodata        ro_limit = 100, ro_name = "corebpf", ro_table = {2,3,5,7},
 *                  static_ro = 42 (const volatile: the loader may override)
 *   .bss           bss_counter, bss_array[64], static_bss (all zero)
 *   .data.custom   custom_a = 11, custom_b = 0x1122334455667788
 *   .rodata.cfg    cfg_mode = 2, cfg_name = "mode-two"
 *   .bss.scratch   scratch_buf[256] (zero)
 * Expected: loads on any kernel >= 5.2 (global data); custom sections need
 * libbpf >= 0.7 and kernel >= 5.2.
 */
#include "vmlinux_min.h"
#include <bpf_helpers.h>
#include <bpf_core_read.h>
#include <bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

struct pair {
	u32 first;
	u32 second;
	char tag[8];
};

/* .data */
u64 data_counter = 7;
struct pair data_struct = { .first = 1, .second = 2, .tag = "init" };
static u32 static_data = 3;

/* .rodata */
const volatile u64 ro_limit = 100;
const volatile char ro_name[8] = "corebpf";
const volatile u32 ro_table[4] = { 2, 3, 5, 7 };
static const volatile u32 static_ro = 42;

/* .bss */
u64 bss_counter;
u32 bss_array[64];
static u64 static_bss;

/* custom sections: one map each */
u32 custom_a SEC(".data.custom") = 11;
u64 custom_b SEC(".data.custom") = 0x1122334455667788ULL;
const volatile u32 cfg_mode SEC(".rodata.cfg") = 2;
const volatile char cfg_name[12] SEC(".rodata.cfg") = "mode-two";
char scratch_buf[256] SEC(".bss.scratch");

static __noinline u64 bump(u32 idx)
{
	/* global data used from a subprogram */
	bss_array[idx & 63] += ro_table[idx & 3];
	static_bss += static_ro;
	return ++bss_counter;
}

SEC("tracepoint/syscalls/sys_enter_getcwd")
int use_globals(void *ctx)
{
	u32 idx = (u32)bpf_get_prandom_u32();
	u64 n;

	if (data_counter >= ro_limit)
		return 0;
	data_counter++;
	data_struct.second += static_data++;
	n = bump(idx);
	custom_b ^= n;
	if (cfg_mode == 2) {
		scratch_buf[idx & 255] = ro_name[idx & 7];
		scratch_buf[(idx + 1) & 255] = cfg_name[idx & 7];
	}
	custom_a += data_struct.first;
	return 0;
}
