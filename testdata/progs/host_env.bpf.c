// SPDX-License-Identifier: GPL-2.0
/*
 * host_env.bpf.c - an object that needs what libbpf reads from the machine it
 * loads on: NON-weak .kconfig externs (so the kernel's config must be found:
 * /boot/config-$(uname -r) or /proc/config.gz) and a NON-weak typeless __ksym
 * (so /proc/kallsyms must be read), plus LINUX_KERNEL_VERSION (uname -r, or
 * Debian's uname -v), and LINUX_HAS_SYSCALL_WRAPPER, which libbpf takes from
 * its syscall_wrapper feature probe (so it shows the probed profile arrived).
 *
 *   CONFIG_HZ                int, in every kernel's config
 *   CONFIG_INET_DIAG         tristate (y here, m on Debian)
 *   CONFIG_DEFAULT_HOSTNAME  string ("(none)" unless changed)
 *   vfs_read                 typeless ksym: its address from kallsyms
 *
 * read_host_env (XDP, run with BPF_PROG_TEST_RUN) copies them into .bss so a
 * test can compare them with the config file and /proc/kallsyms.
 * Expected: loads on any kernel with XDP and BTF-described global data (5.2+).
 */
#include "vmlinux_min.h"
#include <bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

extern u32 LINUX_KERNEL_VERSION __kconfig;
extern bool LINUX_HAS_SYSCALL_WRAPPER __kconfig;
extern int CONFIG_HZ __kconfig;
extern enum libbpf_tristate CONFIG_INET_DIAG __kconfig;
extern const char CONFIG_DEFAULT_HOSTNAME[16] __kconfig;
extern const void vfs_read __ksym;

u32 out_kernel_version;
s64 out_hz = -1;
u32 out_inet_diag = 99;
char out_hostname[16];
u64 out_vfs_read;
u32 out_runs;
u32 out_syscall_wrapper = 99;

SEC("xdp")
int read_host_env(void *ctx)
{
	out_kernel_version = LINUX_KERNEL_VERSION;
	out_hz = CONFIG_HZ;
	out_inet_diag = CONFIG_INET_DIAG;
	__builtin_memcpy(out_hostname, CONFIG_DEFAULT_HOSTNAME, sizeof(out_hostname));
	out_vfs_read = (u64)&vfs_read;
	out_syscall_wrapper = LINUX_HAS_SYSCALL_WRAPPER;
	out_runs++;
	return 2; /* XDP_PASS */
}
