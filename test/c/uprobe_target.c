// Target of the uprobe tests in test/host-attach.test.ts.
// `uprobe_target N` calls corebpf_uprobe_target(i) for i = 0..N-1 and prints the sum of
// the results, which is N*N (the sum of the first N odd numbers): a uretprobe that adds up
// the return values must find the same number.
// Build (no make): node test/c/build-test-binaries.mjs  → build/test/uprobe_target
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline, used)) int corebpf_uprobe_target(int x)
{
	__asm__ volatile("" ::: "memory"); /* keep the call and the function */
	return 2 * x + 1;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1;
	long sum = 0;

	for (int i = 0; i < n; i++)
		sum += corebpf_uprobe_target(i);
	printf("%ld\n", sum);
	return 0;
}
