// SPDX-License-Identifier: GPL-2.0
/*
 * core_errors.bpf.c - CO-RE relocations that FAIL against REAL kernel BTF, in
 * reachable code, so the program must fail to load.  Program names contain
 * ___err_ (corpus convention: expected to fail); core_ok is the control and
 * loads everywhere, so "load only programs without ___err_" must succeed.
 *
 *   core___err_missing_field   task_struct___err_missing.no_such_field:
 *                              type found, field missing -> poisoned insn
 *   core___err_incompat_field  task_struct___err_incompat.mm declared as an
 *                              embedded struct; the kernel's is a pointer
 *   core___err_missing_type    a field of a struct the kernel does not have
 *   core___err_missing_enumval bpf_core_enum_value(pid_type___err,
 *                              PIDTYPE_NOT_THERE)
 * libbpf replaces each failing instruction with a call to helper 0xbad2310
 * ("invalid func unknown#195896080" in the verifier log).
 * Expected: core_ok loads; each ___err_ program is rejected by the verifier.
 */
#include "vmlinux_min.h"
#include <bpf_helpers.h>
#include <bpf_core_read.h>
#include <bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

struct task_struct___err_missing {
	int no_such_field;
} __attribute__((preserve_access_index));

struct task_struct___err_incompat {
	struct mm_struct mm;
} __attribute__((preserve_access_index));

struct corebpf_no_such_struct {
	long value;
} __attribute__((preserve_access_index));

enum pid_type___err {
	PIDTYPE_NOT_THERE = 9,
};

u64 sink[8];

SEC("tracepoint/syscalls/sys_enter_getpid")
int core_ok(void *ctx)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();

	sink[0] = BPF_CORE_READ(t, pid);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getpid")
int core___err_missing_field(void *ctx)
{
	struct task_struct___err_missing *t = (void *)bpf_get_current_task();

	sink[1] = BPF_CORE_READ(t, no_such_field);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getpid")
int core___err_incompat_field(void *ctx)
{
	struct task_struct___err_incompat *t = (void *)bpf_get_current_task();

	sink[2] = BPF_CORE_READ(t, mm.total_vm);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getpid")
int core___err_missing_type(void *ctx)
{
	struct corebpf_no_such_struct *s = (void *)bpf_get_current_task();

	sink[3] = BPF_CORE_READ(s, value);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getpid")
int core___err_missing_enumval(void *ctx)
{
	sink[4] = bpf_core_enum_value(enum pid_type___err, PIDTYPE_NOT_THERE);
	return 0;
}
