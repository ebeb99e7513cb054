// Target of the uprobe.multi tests (test/host-uprobe-multi.test.ts).
// `multi_target A B C D` calls corebpf_multi_alpha() A times, corebpf_multi_beta() B times,
// corebpf_multi_gamma() C times and corebpf_other() D times, then prints the sum of their
// return values: alpha returns 1, beta 10, gamma 100, other 1000 (so a uretprobe.multi that
// adds up the return values of corebpf_multi_* must find A + 10 B + 100 C).
// Build (no make): node test/c/build-test-binaries.mjs  → build/test/multi_target
#include <stdio.h>
#include <stdlib.h>

#define KEEP __attribute__((noinline, used))

KEEP long corebpf_multi_alpha(void) { __asm__ volatile("" ::: "memory"); return 1; }
KEEP long corebpf_multi_beta(void) { __asm__ volatile("" ::: "memory"); return 10; }
KEEP long corebpf_multi_gamma(void) { __asm__ volatile("" ::: "memory"); return 100; }
KEEP long corebpf_other(void) { __asm__ volatile("" ::: "memory"); return 1000; }

int main(int argc, char **argv)
{
	long (*fns[])(void) = { corebpf_multi_alpha, corebpf_multi_beta, corebpf_multi_gamma, corebpf_other };
	long sum = 0;

	for (int f = 0; f < 4; f++) {
		int n = argc > f + 1 ? atoi(argv[f + 1]) : 0;
		for (int i = 0; i < n; i++)
			sum += fns[f]();
	}
	printf("%ld\n", sum);
	return 0;
}
