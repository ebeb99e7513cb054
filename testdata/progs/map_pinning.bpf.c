// SPDX-License-Identifier: GPL-2.0
/*
 * map_pinning.bpf.c - maps with __uint(pinning, LIBBPF_PIN_BY_NAME): libbpf
 * reuses a map already pinned at <pin_root_path>/<map name> (default
 * /sys/fs/bpf) if its attributes match, and pins the new map there
 * otherwise.  Kept apart from maps.bpf.c because loading it for real leaves
 * pins behind: a test must give its own pin root and clean it.
 *
 *   pinned_counts   HASH, LIBBPF_PIN_BY_NAME
 *   pinned_config   ARRAY, LIBBPF_PIN_BY_NAME
 *   unpinned        ARRAY, LIBBPF_PIN_NONE (explicitly)
 * Expected: loads on any kernel with bpffs mounted at the pin root.
 */
#include "vmlinux_min.h"
#include <bpf_helpers.h>
#include <bpf_core_read.h>
#include <bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 128);
	__type(key, u32);
	__type(value, u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pinned_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pinned_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
	__uint(pinning, LIBBPF_PIN_NONE);
} unpinned SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getppid")
int count_pinned(void *ctx)
{
	u32 pid = bpf_get_current_pid_tgid() >> 32, zero = 0;
	u64 one = 1, *cnt, *cfg;

	cfg = bpf_map_lookup_elem(&pinned_config, &zero);
	if (cfg && *cfg == 0)
		return 0;
	cnt = bpf_map_lookup_elem(&pinned_counts, &pid);
	if (cnt)
		__sync_fetch_and_add(cnt, 1);
	else
		bpf_map_update_elem(&pinned_counts, &pid, &one, BPF_NOEXIST);
	cnt = bpf_map_lookup_elem(&unpinned, &zero);
	if (cnt)
		__sync_fetch_and_add(cnt, 1);
	return 0;
}
