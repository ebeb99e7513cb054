// SPDX-License-Identifier: GPL-2.0
/*
 * kconfig.bpf.c - .kconfig externs: values libbpf fills in at load time from
 * the kernel configuration (or the kconfig text given to the loader) and
 * from the kernel version.
 *
 * Covers every kind of .kconfig extern libbpf supports:
 *   LINUX_KERNEL_VERSION          libbpf-provided, u32 KERNEL_VERSION(a,b,c)
 *   LINUX_HAS_SYSCALL_WRAPPER     libbpf-provided (probed), bool
 *   CONFIG_BPF_SYSCALL            strong bool: must be set, or the load fails
 *   CONFIG_BPF_JIT                weak enum libbpf_tristate (y/m/n)
 *   CONFIG_HZ                     weak int
 *   CONFIG_NR_CPUS                weak u64
 *   CONFIG_DEFAULT_HOSTNAME       weak char array (string value)
 *   CONFIG_COREBPF_NOT_A_REAL_OPTION   weak bool, absent everywhere -> 0
 * The values are copied into a hash map keyed by an index, so a test can read
 * what the program saw.
 * Expected: loads on any kernel with BPF; offline, with kconfig text supplied.
 */
#include "vmlinux_min.h"
#include <bpf_helpers.h>
#include <bpf_core_read.h>
#include <bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

extern u32 LINUX_KERNEL_VERSION __kconfig;
extern bool LINUX_HAS_SYSCALL_WRAPPER __kconfig;
extern bool CONFIG_BPF_SYSCALL __kconfig;
extern enum libbpf_tristate CONFIG_BPF_JIT __kconfig __weak;
extern int CONFIG_HZ __kconfig __weak;
extern u64 CONFIG_NR_CPUS __kconfig __weak;
extern const char CONFIG_DEFAULT_HOSTNAME[16] __kconfig __weak;
extern bool CONFIG_COREBPF_NOT_A_REAL_OPTION __kconfig __weak;

enum {
	KC_KERNEL_VERSION,
	KC_SYSCALL_WRAPPER,
	KC_BPF_SYSCALL,
	KC_BPF_JIT,
	KC_HZ,
	KC_NR_CPUS,
	KC_HOSTNAME_0,	/* first 8 bytes of CONFIG_DEFAULT_HOSTNAME */
	KC_NOT_REAL,
	KC_MAX,
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KC_MAX);
	__type(key, u32);
	__type(value, u64);
} kconfig_values SEC(".maps");

/* .bss */
bool gated_path_taken;

static __always_inline void put(u32 key, u64 val)
{
	bpf_map_update_elem(&kconfig_values, &key, &val, BPF_ANY);
}

SEC("tracepoint/syscalls/sys_enter_uname")
int read_kconfig(void *ctx)
{
	u64 host = 0;

	put(KC_KERNEL_VERSION, LINUX_KERNEL_VERSION);
	put(KC_SYSCALL_WRAPPER, LINUX_HAS_SYSCALL_WRAPPER);
	put(KC_BPF_SYSCALL, CONFIG_BPF_SYSCALL);
	put(KC_BPF_JIT, CONFIG_BPF_JIT);
	put(KC_HZ, CONFIG_HZ);
	put(KC_NR_CPUS, CONFIG_NR_CPUS);
	__builtin_memcpy(&host, (const void *)CONFIG_DEFAULT_HOSTNAME, sizeof(host));
	put(KC_HOSTNAME_0, host);
	put(KC_NOT_REAL, CONFIG_COREBPF_NOT_A_REAL_OPTION);
	/* the usual pattern: version- and config-gated code */
	if (LINUX_KERNEL_VERSION >= KERNEL_VERSION(5, 14, 0) && CONFIG_BPF_JIT == TRI_YES)
		gated_path_taken = true;
	return 0;
}
