// SPDX-License-Identifier: GPL-2.0
/*
 * core_kinds.bpf.c - all 13 CO-RE relocation kinds against REAL kernel BTF,
 * one program per group of kinds, every result stored in its own .bss slot.
 *
 *   field_kinds:  field_byte_offset, field_byte_size, field_exists,
 *                 field_signed, field_lshift_u64, field_rshift_u64
 *                 (the last three through a bitfield, sched_reset_on_fork)
 *   type_kinds:   type_id_local, type_id_target, type_exists, type_size,
 *                 type_matches (struct upid matches; trace_entry does not on
 *                 gcc-built kernels, see below; a mismatching flavor)
 *   enum_kinds:   enumval_exists, enumval_value, on a 32-bit enum (pid_type)
 *                 and a 64-bit one (perf_callchain_context, ENUM64 in BTF)
 *
 * The synthetic-target twin with exact expectations is core_target.bpf.c.
 * Expected: loads on any x86-64 kernel >= 5.14 with BTF built by pahole >= 1.24
 * (ENUM64).
 */
#include "vmlinux_min.h"
#include <bpf_helpers.h>
#include <bpf_core_read.h>
#include <bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

/* trace_entry with a wrong field size: exists, but does not "match" */
struct trace_entry___mismatch {
	int type;
} __attribute__((preserve_access_index));

#define core_field_signed(type, field) \
	__builtin_preserve_field_info(((type *)0)->field, BPF_FIELD_SIGNED)
#define core_field_lshift(type, field) \
	__builtin_preserve_field_info(((type *)0)->field, BPF_FIELD_LSHIFT_U64)
#define core_field_rshift(type, field) \
	__builtin_preserve_field_info(((type *)0)->field, BPF_FIELD_RSHIFT_U64)

__u64 field_out[8];
__u64 type_out[8];
__u64 enum_out[8];

SEC("tracepoint/syscalls/sys_enter_getpgid")
int field_kinds(struct trace_event_raw_sys_enter *ctx)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();

	field_out[0] = bpf_core_field_offset(struct task_struct, pid);
	field_out[1] = bpf_core_field_size(struct task_struct, comm);
	field_out[2] = bpf_core_field_exists(struct task_struct, loginuid);
	field_out[3] = core_field_signed(struct task_struct, exit_code);
	field_out[4] = core_field_lshift(struct task_struct, sched_reset_on_fork);
	field_out[5] = core_field_rshift(struct task_struct, sched_reset_on_fork);
	field_out[6] = BPF_CORE_READ_BITFIELD_PROBED(t, sched_reset_on_fork);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getsid")
int type_kinds(struct trace_event_raw_sys_enter *ctx)
{
	type_out[0] = bpf_core_type_id_local(struct task_struct);
	type_out[1] = bpf_core_type_id_kernel(struct task_struct);
	type_out[2] = bpf_core_type_exists(struct task_struct);
	type_out[3] = bpf_core_type_size(struct trace_entry);
	/* int, pointer to struct: matches the kernel's struct upid */
	type_out[4] = bpf_core_type_matches(struct upid);
	/* 0 on gcc-built kernels: type_matches compares integer type NAMES, and
	 * clang calls 'type' "unsigned short" where the kernel's BTF (from gcc
	 * DWARF) says "short unsigned int" */
	type_out[5] = bpf_core_type_matches(struct trace_entry);
	/* 0 everywhere: 'type' is 2 bytes in the kernel */
	type_out[6] = bpf_core_type_matches(struct trace_entry___mismatch);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getpgrp")
int enum_kinds(struct trace_event_raw_sys_enter *ctx)
{
	enum_out[0] = bpf_core_enum_value_exists(enum pid_type, PIDTYPE_SID);
	enum_out[1] = bpf_core_enum_value(enum pid_type, PIDTYPE_PGID);
	enum_out[2] = bpf_core_enum_value_exists(enum perf_callchain_context, PERF_CONTEXT_USER);
	enum_out[3] = bpf_core_enum_value(enum perf_callchain_context, PERF_CONTEXT_KERNEL);
	return 0;
}
