// Benchmark object for the host cases (bench/cases/host-*.mjs), compiled at bench time by
// mk/bench.mk into build/bench/host_bench.bpf.o (clang-16 -target bpf, libbpf-dev headers).
//   hmap, amap  u32 -> u64 hash and array maps for the map lookup/update case
//   rb          ring buffer; `emit` (a socket filter, run with BPF_PROG_TEST_RUN repeat=N)
//               writes EMIT_BATCH 16-byte records per run, so the kernel is the producer
//               at a rate set by the caller; `dropped` counts failed outputs (ring full)
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define NKEYS 65536
#define EMIT_BATCH 64

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NKEYS);
	__type(key, __u32);
	__type(value, __u64);
} hmap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NKEYS);
	__type(key, __u32);
	__type(value, __u64);
} amap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 << 20);
} rb SEC(".maps");

struct event {
	__u64 seq;
	__u32 batch_index;
	__u32 cpu;
};

__u64 seq = 0;
__u64 dropped = 0;

SEC("socket")
int emit(struct __sk_buff *skb)
{
	struct event e = { .cpu = bpf_get_smp_processor_id() };
	e.seq = __sync_fetch_and_add(&seq, EMIT_BATCH);
	for (__u32 i = 0; i < EMIT_BATCH; i++) {
		e.batch_index = i;
		if (bpf_ringbuf_output(&rb, &e, sizeof(e), 0))
			__sync_fetch_and_add(&dropped, 1);
		e.seq++;
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
