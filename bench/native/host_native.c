// Native baseline for the host benchmarks (bench/cases/host-*.mjs): the same bpf() work as
// corebpf's Node host, done in C with the system libbpf (libbpf-dev), on the SAME kernel
// objects. The Node case loads build/bench/host_bench.bpf.o with corebpf, then starts this
// program with the objects' fds inherited (stdio slots 3..6):
//   fd 3 hmap (hash u32->u64)   fd 4 amap (array u32->u64)   fd 5 rb (ringbuf)   fd 6 emit prog
// and sends one command per line on stdin; every reply is one line on stdout:
//   lookup FD N NKEYS   N bpf_map_lookup_elem calls, key i % NKEYS      -> "ok NS CPU_NS"
//   update FD N NKEYS   N bpf_map_update_elem calls (BPF_ANY), value i  -> "ok NS CPU_NS"
//   fill RUNS           BPF_PROG_TEST_RUN of emit with repeat=RUNS      -> "ok NS"
//   drain N             ring_buffer__poll(rb, 100) until N records read -> "ok NS COUNT"
//   skip                ring_buffer__consume until the ring is empty    -> "ok NS COUNT"
//   live MS RATE        empty the ring (untimed), then: producer thread on, ring_buffer__poll
//                       for MS ms, producer off        -> "ok NS COUNT OFFERED CPU_NS"
//   produce-start RATE / produce-stop   the producer thread alone (for a Node consumer);
//                       produce-stop replies "ok NS OFFERED" (records offered while on)
//   quit
// The producer thread runs emit with BPF_PROG_TEST_RUN in a loop (EMIT_BATCH records per
// run): as fast as it can with RATE 0, else paced to RATE records/s. OFFERED counts the
// records it tried to write (a full ring makes bpf_ringbuf_output fail: not delivered).
// Pinning (live, produce-start): the producer thread runs on the last online CPU, the consumer
// (this program's main thread during `live`; the Node case pins its own process) on CPU 0,
// so producer and consumer do not take turns on one core; machines with 1 CPU share it.
// NS is wall time (CLOCK_MONOTONIC) of the timed loop only; CPU_NS the consumer thread's
// CPU time in it. The ring buffer callback does what the Node side minimally does per
// record: reads it (sums a field) and counts it.
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FD_RB 5
#define FD_PROG 6
#define EMIT_BATCH 64 /* records per run of emit (host_bench.bpf.c) */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static uint64_t count, seqsum;

static int on_record(void *ctx, void *data, size_t size)
{
	(void)ctx;
	if (size >= 8) seqsum += *(const uint64_t *)data;
	count++;
	return 0;
}

static unsigned char pkt[64];

static int test_run(int runs)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = sizeof(pkt), .repeat = runs);
	return bpf_prog_test_run_opts(FD_PROG, &o);
}

static atomic_int producing;
static atomic_ullong offered;
static pthread_t producer;
static uint64_t rate; /* records/s, 0: as fast as possible */

/* pin the calling thread to `cpu`, or to every CPU with cpu < 0 */
static void pin(int cpu)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;
	CPU_ZERO(&set);
	for (long i = 0; i < n; i++)
		if (cpu < 0 || i == cpu) CPU_SET(i, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static int producer_cpu(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 1 ? (int)(n - 1) : 0;
}

static void *produce(void *arg)
{
	(void)arg;
	pin(producer_cpu());
	uint64_t t0 = now_ns();
	/* paced: runs of at most ~0.25 ms worth of records */
	int runs = rate ? (int)(rate / EMIT_BATCH / 4000) : 256;
	if (runs < 1) runs = 1;
	if (runs > 256) runs = 256;
	while (atomic_load(&producing)) {
		if (rate) {
			uint64_t due = (now_ns() - t0) * rate / 1000000000ull;
			if (atomic_load(&offered) >= due) {
				struct timespec ts = { 0, 50000 };
				nanosleep(&ts, NULL);
				continue;
			}
		}
		if (test_run(runs)) {
			fprintf(stderr, "host-native: test_run: %s\n", strerror(errno));
			break;
		}
		atomic_fetch_add(&offered, (unsigned long long)runs * EMIT_BATCH);
	}
	return NULL;
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void producer_start(uint64_t records_per_s)
{
	rate = records_per_s;
	atomic_store(&offered, 0);
	atomic_store(&producing, 1);
	if (pthread_create(&producer, NULL, produce, NULL)) {
		perror("pthread_create");
		exit(1);
	}
}

static uint64_t producer_stop(void)
{
	atomic_store(&producing, 0);
	pthread_join(producer, NULL);
	return atomic_load(&offered);
}

static void fail(const char *what)
{
	printf("err %s: %s\n", what, strerror(errno));
	fflush(stdout);
}

int main(void)
{
	struct ring_buffer *rb = ring_buffer__new(FD_RB, on_record, NULL, NULL);
	if (!rb) {
		fprintf(stderr, "host-native: ring_buffer__new(fd %d): %s\n", FD_RB, strerror(errno));
		return 1;
	}
	char line[256];
	while (fgets(line, sizeof line, stdin)) {
		char cmd[32] = "";
		long long a = 0, b = 0, c = 0;
		sscanf(line, "%31s %lld %lld %lld", cmd, &a, &b, &c);
		if (!strcmp(cmd, "lookup") || !strcmp(cmd, "update")) {
			int fd = (int)a, upd = cmd[0] == 'u';
			uint32_t nkeys = (uint32_t)c;
			uint64_t v = 0;
			int err = 0;
			uint64_t t0 = now_ns(), c0 = thread_cpu_ns();
			for (long long i = 0; i < b && !err; i++) {
				uint32_t k = (uint32_t)(i % nkeys);
				if (upd) {
					v = (uint64_t)i;
					err = bpf_map_update_elem(fd, &k, &v, BPF_ANY);
				} else
					err = bpf_map_lookup_elem(fd, &k, &v);
			}
			uint64_t dt = now_ns() - t0, cpu = thread_cpu_ns() - c0;
			if (err) fail(cmd);
			else printf("ok %llu %llu\n", (unsigned long long)dt, (unsigned long long)cpu);
		} else if (!strcmp(cmd, "fill")) {
			uint64_t t0 = now_ns();
			if (test_run((int)a)) fail("test_run");
			else printf("ok %llu\n", (unsigned long long)(now_ns() - t0));
		} else if (!strcmp(cmd, "drain")) {
			count = 0;
			uint64_t t0 = now_ns();
			while (count < (uint64_t)a) {
				int n = ring_buffer__poll(rb, 100);
				if (n < 0) break;
				if (n == 0 && now_ns() - t0 > 5000000000ull) break; /* nothing for 5 s */
			}
			uint64_t dt = now_ns() - t0;
			printf("ok %llu %llu\n", (unsigned long long)dt, (unsigned long long)count);
		} else if (!strcmp(cmd, "skip")) {
			count = 0;
			uint64_t t0 = now_ns();
			while (ring_buffer__consume(rb) > 0) {}
			printf("ok %llu %llu\n", (unsigned long long)(now_ns() - t0), (unsigned long long)count);
		} else if (!strcmp(cmd, "live")) {
			while (ring_buffer__consume(rb) > 0) {}
			pin(0);
			producer_start((uint64_t)b);
			count = 0;
			uint64_t c0 = thread_cpu_ns();
			uint64_t t0 = now_ns(), end = t0 + (uint64_t)a * 1000000ull, t;
			while ((t = now_ns()) < end) {
				int ms = (int)((end - t) / 1000000ull);
				if (ring_buffer__poll(rb, ms > 0 ? ms : 1) < 0) break;
			}
			uint64_t dt = now_ns() - t0, got = count, cpu = thread_cpu_ns() - c0;
			uint64_t off = producer_stop();
			pin(-1);
			printf("ok %llu %llu %llu %llu\n", (unsigned long long)dt, (unsigned long long)got, (unsigned long long)off,
			       (unsigned long long)cpu);
		} else if (!strcmp(cmd, "produce-start")) {
			producer_start((uint64_t)a);
			printf("ok 0\n");
		} else if (!strcmp(cmd, "produce-stop")) {
			uint64_t t0 = now_ns();
			uint64_t off = producer_stop();
			printf("ok %llu %llu\n", (unsigned long long)(now_ns() - t0), (unsigned long long)off);
		} else if (!strcmp(cmd, "quit")) {
			break;
		} else {
			printf("err unknown command '%s'\n", cmd);
		}
		fflush(stdout);
	}
	if (atomic_load(&producing)) producer_stop();
	ring_buffer__free(rb);
	return 0;
}
