// SPDX-License-Identifier: GPL-2.0
/*
 * maps.bpf.c - BTF-defined maps (SEC(".maps")) of many types and attribute
 * shapes, all used by one tracepoint program so none is dead.
 *
 *   hash_map        HASH, __type key/value, BPF_F_NO_PREALLOC
 *   array_map       ARRAY, BPF_F_MMAPABLE, struct value
 *   percpu_hash     PERCPU_HASH
 *   percpu_array    PERCPU_ARRAY
 *   lru_hash        LRU_HASH
 *   lru_percpu      LRU_PERCPU_HASH, BPF_F_NO_COMMON_LRU
 *   lpm_trie        LPM_TRIE, struct key, BPF_F_NO_PREALLOC
 *   queue_map       QUEUE (no key), __uint(value_size)
 *   stack_map       STACK (no key)
 *   bloom           BLOOM_FILTER, map_extra = 3 hash functions
 *   stack_traces    STACK_TRACE, key_size/value_size given as numbers
 *   ringbuf         RINGBUF, max_entries only
 *   perf_events     PERF_EVENT_ARRAY, key_size/value_size, no max_entries
 *   ro_array        ARRAY, BPF_F_RDONLY_PROG
 *   sized_hash      HASH declared with __uint(key_size)/__uint(value_size)
 *                   instead of BTF types
 *   numa_hash       HASH with __uint(numa_node, 0) and BPF_F_NUMA_NODE
 * Expected: loads on any kernel >= 5.16 (bloom filter).
 */
#include "vmlinux_min.h"
#include <bpf_helpers.h>
#include <bpf_core_read.h>
#include <bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

struct value {
	u64 count;
	u64 bytes;
	char comm[16];
};

struct lpm_key {
	u32 prefixlen;
	u32 addr;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, u32);
	__type(value, struct value);
} hash_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, u32);
	__type(value, struct value);
} array_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 128);
	__type(key, u64);
	__type(value, u64);
} percpu_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, u64);
} percpu_array SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 256);
	__type(key, u32);
	__type(value, u64);
} lru_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, 256);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__type(key, u32);
	__type(value, u64);
} lru_percpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 64);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm_key);
	__type(value, u32);
} lpm_trie SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, 32);
	__type(value, u64);
} queue_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK);
	__uint(max_entries, 32);
	__uint(value_size, sizeof(u64));
} stack_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
	__uint(max_entries, 1000);
	__uint(map_extra, 3);
	__type(value, u32);
} bloom SEC(".maps");

#define MAX_STACK_DEPTH 32
struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 512);
	__uint(key_size, sizeof(u32));
	__uint(value_size, MAX_STACK_DEPTH * sizeof(u64));
} stack_traces SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} ringbuf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} perf_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_RDONLY_PROG);
	__type(key, u32);
	__type(value, u64);
} ro_array SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__uint(key_size, 8);
	__uint(value_size, 24);
} sized_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__uint(map_flags, BPF_F_NUMA_NODE);
	__uint(numa_node, 0);
	__type(key, u32);
	__type(value, u32);
} numa_hash SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_write")
int use_maps(struct trace_event_raw_sys_enter *ctx)
{
	u64 pid_tgid = bpf_get_current_pid_tgid();
	u32 pid = pid_tgid >> 32, zero = 0, one = 1;
	u64 bytes = BPF_CORE_READ(ctx, args[2]), qv = bytes, *p;
	struct value *v, init = {};
	struct lpm_key lk = { .prefixlen = 32, .addr = pid };
	char sized_key[8] = {}, sized_val[24] = {};
	u32 *lpm_val, bloom_val = pid;
	s64 stack_id;

	v = bpf_map_lookup_elem(&hash_map, &pid);
	if (!v) {
		init.bytes = bytes;
		bpf_get_current_comm(&init.comm, sizeof(init.comm));
		bpf_map_update_elem(&hash_map, &pid, &init, BPF_NOEXIST);
	} else {
		__sync_fetch_and_add(&v->count, 1);
		__sync_fetch_and_add(&v->bytes, bytes);
	}

	v = bpf_map_lookup_elem(&array_map, &zero);
	if (v)
		__sync_fetch_and_add(&v->count, 1);

	p = bpf_map_lookup_elem(&percpu_hash, &pid_tgid);
	if (p)
		*p += 1;
	else
		bpf_map_update_elem(&percpu_hash, &pid_tgid, &one, BPF_ANY);

	p = bpf_map_lookup_elem(&percpu_array, &zero);
	if (p)
		*p += bytes;

	bpf_map_update_elem(&lru_hash, &pid, &bytes, BPF_ANY);
	bpf_map_update_elem(&lru_percpu, &pid, &bytes, BPF_ANY);

	lpm_val = bpf_map_lookup_elem(&lpm_trie, &lk);
	if (!lpm_val)
		bpf_map_update_elem(&lpm_trie, &lk, &pid, BPF_ANY);

	bpf_map_push_elem(&queue_map, &qv, BPF_EXIST);
	bpf_map_push_elem(&stack_map, &qv, BPF_EXIST);
	if (bpf_map_pop_elem(&queue_map, &qv) == 0)
		bpf_map_push_elem(&stack_map, &qv, BPF_EXIST);

	if (bpf_map_peek_elem(&bloom, &bloom_val) != 0)
		bpf_map_push_elem(&bloom, &bloom_val, BPF_ANY);

	stack_id = bpf_get_stackid(ctx, &stack_traces, BPF_F_USER_STACK);
	if (stack_id >= 0) {
		bpf_ringbuf_output(&ringbuf, &stack_id, sizeof(stack_id), 0);
		bpf_perf_event_output(ctx, &perf_events, BPF_F_CURRENT_CPU,
				      &stack_id, sizeof(stack_id));
	}

	p = bpf_map_lookup_elem(&ro_array, &zero);
	if (p && *p)
		return 0;

	__builtin_memcpy(sized_key, &pid_tgid, sizeof(pid_tgid));
	bpf_map_update_elem(&sized_hash, sized_key, sized_val, BPF_ANY);
	bpf_map_update_elem(&numa_hash, &pid, &one, BPF_ANY);
	bpf_map_delete_elem(&lru_hash, &zero);
	return 0;
}
