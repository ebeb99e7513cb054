// Trigger for the tracepoint / raw tracepoint tests (test/host-attach.test.ts,
// test/host-ringbuf.test.ts): `corebpf_getpid N` makes exactly N getpid(2) system calls.
// The tests' BPF programs count only tasks whose comm is "corebpf_getpid", so that getpid
// calls made inside the test process itself (V8 and Node make some) do not disturb them.
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1;

	for (int i = 0; i < n; i++)
		syscall(SYS_getpid);
	return 0;
}
