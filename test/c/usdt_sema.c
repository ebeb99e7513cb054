// The semaphore half of usdt_target (its own translation unit: sys/sdt.h gives every probe of
// a unit with _SDT_HAS_SEMAPHORES a semaphore).
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>

__extension__ unsigned short corebpf_sema_semaphore __attribute__((unused)) __attribute__((section(".probes")));

int corebpf_fire_sema(int i, long *sa, long *sb)
{
	int a = 3 * i;
	long b = -(long)i * 4294967296L;

	if (!corebpf_sema_semaphore)
		return 0;
	DTRACE_PROBE2(corebpf, sema, a, b);
	*sa += a;
	*sb += b;
	return 1;
}
