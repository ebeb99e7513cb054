// Native peer of the warm open + load case (bench/open-load-probe.mjs): Debian's libbpf
// (libbpf-dev) opening and loading an object N times in one process, as a tool would:
// bpf_object__open_file + bpf_object__load + bpf_object__close, each iteration timed
// (CLOCK_MONOTONIC) and printed in ms, one per line. libbpf parses the kernel's BTF again
// on every load: that is what it costs there.
//   usage: open-load OBJECT [N]
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

int main(int argc, char **argv)
{
	int n = argc > 2 ? atoi(argv[2]) : 20;

	if (argc < 2 || n <= 0) {
		fprintf(stderr, "usage: %s OBJECT [N]\n", argv[0]);
		return 2;
	}
	libbpf_set_print(quiet);
	for (int i = 0; i < n; i++) {
		double t0 = now_ms();
		struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
		int err = libbpf_get_error(obj);

		if (err) {
			fprintf(stderr, "open %s: %s\n", argv[1], strerror(-err));
			return 1;
		}
		err = bpf_object__load(obj);
		if (err) {
			fprintf(stderr, "load %s: %s\n", argv[1], strerror(-err));
			return 1;
		}
		bpf_object__close(obj);
		printf("%.4f\n", now_ms() - t0);
	}
	return 0;
}
