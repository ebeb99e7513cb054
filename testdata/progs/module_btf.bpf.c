// SPDX-License-Identifier: GPL-2.0
/*
 * module_btf.bpf.c - what libbpf finds only in kernel MODULE BTF (split BTF
 * on vmlinux, /sys/kernel/btf/<module>), when vmlinux has no candidate:
 *
 *   module_core    CO-RE relocations against ext4's own types
 *                  (struct ext4_inode_info is in ext4's BTF, not vmlinux')
 *   module_fentry  fentry on a module function (attach_btf_obj_fd = the
 *                  module's BTF object)
 *   module_ksyms   a typed ksym VAR and a kfunc that live in a module:
 *                  corebpf_mod_counter / corebpf_mod_kfunc exist in no real
 *                  module; the tests give a synthetic module BTF that has
 *                  them (ld_imm64 imm2 and fd_array name the module's BTF)
 * Expected: relocation only (against amd64-6.1.176 + its ext4 module BTF).
 */
#include "vmlinux_min.h"
#include <bpf_helpers.h>
#include <bpf_core_read.h>
#include <bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

struct ext4_inode_info {
	long long i_disksize;
} __attribute__((preserve_access_index));

extern const int corebpf_mod_counter __ksym;
extern int corebpf_mod_kfunc(int x) __ksym;

u64 out_offset;
u64 out_sum;

SEC("tp_btf/sched_process_exec")
int module_core(void *ctx)
{
	out_offset = bpf_core_field_offset(struct ext4_inode_info, i_disksize);
	return 0;
}

SEC("fentry/ext4_sync_fs")
int BPF_PROG(module_fentry)
{
	return 0;
}

SEC("tp_btf/sched_process_exec")
int module_ksyms(void *ctx)
{
	const int *c = bpf_this_cpu_ptr(&corebpf_mod_counter);

	out_sum = *c + corebpf_mod_kfunc(1);
	return 0;
}
