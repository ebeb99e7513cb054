/* <asm/unistd.h> for wasm32.
 *
 * There is no Linux syscall table for wasm32: emscripten's <sys/syscall.h> defines only
 * SYS_* names for its own syscall layer and no __NR_* numbers.  __NR_bpf,
 * __NR_perf_event_open, __NR_memfd_create, __NR_dup3 ... are deliberately left undefined
 * here; the libbpf build redirects those calls at compile time. */
#include <sys/syscall.h>
