/* Tiny BPF object for `make libelf-check`: code, a relocation, data, rodata, a map-like
 * section and (with -g -gz=zlib) compressed debug sections. */
struct { int type; int max_entries; } counts __attribute__((section(".maps"), used));
int total = 7;
const char msg[] = "hello";

__attribute__((section("xdp"), used)) int prog(void *ctx)
{
	total += msg[0];
	return 2;
}

char LICENSE[] __attribute__((section("license"), used)) = "GPL";
