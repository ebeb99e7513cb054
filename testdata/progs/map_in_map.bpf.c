// SPDX-License-Identifier: GPL-2.0
/*
 * map_in_map.bpf.c - maps of maps with static initialisation (.values):
 *
 *   outer_array   ARRAY_OF_MAPS, 4 slots: [0] = inner_a, [1] = inner_b,
 *                 slots 2 and 3 left empty; inner template = struct inner_map
 *   outer_hash    HASH_OF_MAPS: key 3 -> inner_d, key 7 -> inner_c; its inner
 *                 template is an anonymous struct with BPF_F_INNER_MAP, so
 *                 inner maps of different max_entries (4 and 16) fit
 *   dyn_outer     ARRAY_OF_MAPS without .values: filled at runtime
 * The ELF relocations in the .maps section (R_BPF_64_64 against inner_a ...)
 * tell the loader which slot gets which map.
 * Expected: loads on any kernel >= 5.10 (inner maps of different max_entries
 * need BPF_F_INNER_MAP, 5.10).
 */
#include "vmlinux_min.h"
#include <bpf_helpers.h>
#include <bpf_core_read.h>
#include <bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

struct inner_map {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, u64);
} inner_a SEC(".maps"), inner_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_INNER_MAP);
	__uint(max_entries, 16);
	__type(key, u32);
	__type(value, u64);
} inner_c SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_INNER_MAP);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, u64);
} inner_d SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, u32);
	__array(values, struct inner_map);
} outer_array SEC(".maps") = {
	.values = { [0] = &inner_a, [1] = &inner_b },
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 8);
	__type(key, u32);
	__array(values, struct {
		__uint(type, BPF_MAP_TYPE_ARRAY);
		__uint(map_flags, BPF_F_INNER_MAP);
		__uint(max_entries, 4);
		__type(key, u32);
		__type(value, u64);
	});
} outer_hash SEC(".maps") = {
	.values = { [3] = (void *)&inner_d, [7] = (void *)&inner_c },
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, u32);
	__array(values, struct inner_map);
} dyn_outer SEC(".maps");

static __always_inline void bump(void *outer, u32 outer_key, u32 inner_key)
{
	u64 *val;
	void *inner = bpf_map_lookup_elem(outer, &outer_key);

	if (!inner)
		return;
	val = bpf_map_lookup_elem(inner, &inner_key);
	if (val)
		__sync_fetch_and_add(val, 1);
}

SEC("tracepoint/syscalls/sys_enter_getpid")
int use_map_in_map(void *ctx)
{
	u32 cpu = bpf_get_smp_processor_id();

	bump(&outer_array, 0, cpu & 3);
	bump(&outer_array, 1, 0);
	bump(&outer_hash, 3, 1);
	bump(&outer_hash, 7, 2);
	bump(&dyn_outer, 0, 0);
	return 0;
}
