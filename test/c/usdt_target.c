// Target of the USDT tests (test/host-usdt.test.ts), built with sys/sdt.h (systemtap-sdt-dev).
// `usdt_target N` fires, for i = 1..N:
//   corebpf:plain(int a = -i, long b = i * 1000000007, void *p = &cells[i % 4]) — no semaphore
//   corebpf:sema(int a = 3 i, long b = -i * 4294967296) — with a semaphore: fired only while
//     the semaphore (raised by the kernel while a uprobe with its ref_ctr_offset is attached)
//     is non-zero (usdt_sema.c)
// then prints "plain_a plain_b plain_p sema_fired sema_a sema_b": the sums of what it fired.
// `usdt_target N wait` first waits for a line on stdin (a tracer attaches to its pid then).
// Build (no make): node test/c/build-test-binaries.mjs  → build/test/usdt_target
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <sys/sdt.h>

int corebpf_fire_sema(int i, long *a, long *b); /* usdt_sema.c: 1 when it fired */

static long cells[4];

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1;
	if (argc > 2) {
		char line[16];
		if (!fgets(line, sizeof(line), stdin))
			return 2;
	}
	long pa = 0, pb = 0, fired = 0, sa = 0, sb = 0;
	uintptr_t pp = 0;

	for (int i = 1; i <= n; i++) {
		int a = -i;
		long b = (long)i * 1000000007L;
		void *p = &cells[i % 4];

		DTRACE_PROBE3(corebpf, plain, a, b, p);
		pa += a;
		pb += b;
		pp += (uintptr_t)p;
		fired += corebpf_fire_sema(i, &sa, &sb);
	}
	printf("%ld %ld %ld %ld %ld %ld\n", pa, pb, (long)pp, fired, sa, sb);
	return 0;
}
