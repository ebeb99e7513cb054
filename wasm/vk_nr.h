/* Syscall numbers libbpf's headers name. wasm32 has none; these are private to the virtual
 * kernel and equal to x86-64's, so the native and the wasm build see the same values. */
#ifndef COREBPF_VK_NR_H
#define COREBPF_VK_NR_H

#ifndef __NR_bpf
#define __NR_bpf 321
#endif
#ifndef __NR_memfd_create
#define __NR_memfd_create 319
#endif
#ifndef __NR_dup3
#define __NR_dup3 292
#endif
#ifndef __NR_perf_event_open
#define __NR_perf_event_open 298
#endif

/* libbpf_internal.h's inline sys_dup3() names syscall() in every file that includes it */
long syscall(long nr, ...);

#endif
