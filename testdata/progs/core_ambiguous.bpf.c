// SPDX-License-Identifier: GPL-2.0
/*
 * core_ambiguous.bpf.c - CO-RE candidate ambiguity against a synthetic target
 * that holds TWO flavors of the same type (core_amb and core_amb___v2).
 *
 * Built like core_target.bpf.c: normally for the LOCAL object, with -DTARGET
 * for testdata/targets/core_ambiguous.target.btf; expectations in
 * testdata/targets/core_ambiguous.expected.json (by hand, see
 * core_ambiguous_expected.py).  Relocate ONLY against that target BTF.
 *
 * libbpf collects every target type whose name matches without the ___
 * suffix.  When several candidates match a relocation:
 *   - they must all give the same bit offset (field kinds) and value, else
 *     the relocation is a HARD error that aborts the relocation of the whole
 *     object (not a poisoned instruction);
 *   - candidates that do not match are dropped, and the candidate list is
 *     cached per LOCAL type id for the whole object, so the pruning sticks:
 *     later relocations against the same local type only see the survivors.
 *
 *   amb_ok            struct core_amb: 'c' (both candidates agree: 8),
 *                     type_exists (both: 1), 'a' (only core_amb has it: 0,
 *                     and core_amb___v2 is dropped), then 'b' (4: only
 *                     core_amb is left, so no ambiguity)
 *   amb___err_offset  struct core_amb___x (own local type, fresh candidate
 *                     list): 'b' at 4 vs 0 -> "field offset ambiguity"
 *   amb___err_size    struct core_amb___y: type_size 12 vs 16 ->
 *                     "relocation decision ambiguity"
 * libbpf stops at the first hard error: load amb_ok plus at most one of the
 * ___err_ programs at a time.
 */
#include "vmlinux_min.h"
#include <bpf_helpers.h>
#include <bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

#ifndef TARGET
struct core_amb {
	int a;		/* 0 */
	int b;		/* 4 */
	int c;		/* 8 */
};

struct core_amb___x {
	int b;
};

struct core_amb___y {
	int a;
};
#else
/* candidate 1 */
struct core_amb {
	int a;		/* 0 */
	int b;		/* 4 */
	int c;		/* 8 */
};			/* size 12 */

/* candidate 2: no 'a'; 'b' elsewhere; 'c' at the same offset */
struct core_amb___v2 {
	long b;		/* 0 */
	int c;		/* 8 */
	int d;		/* 12 */
};			/* size 16 */
#endif

#pragma clang attribute pop

#ifdef TARGET
struct core_ambiguous_types {
	struct core_amb amb;
	struct core_amb___v2 amb2;
} core_ambiguous_types;
#else

__u64 out[8];

SEC("tracepoint/core_ambiguous/amb_ok")
int amb_ok(void *ctx)
{
	/* both candidates have 'c' at 8: they agree */
	out[0] = bpf_core_field_offset(struct core_amb, c);
	/* both exist: 1 == 1 */
	out[1] = bpf_core_type_exists(struct core_amb);
	/* only core_amb has 'a': core_amb___v2 is dropped from now on */
	out[2] = bpf_core_field_offset(struct core_amb, a);
	/* would be ambiguous, but only core_amb is left */
	out[3] = bpf_core_field_offset(struct core_amb, b);
	return 0;
}

SEC("tracepoint/core_ambiguous/amb___err_offset")
int amb___err_offset(void *ctx)
{
	out[4] = bpf_core_field_offset(struct core_amb___x, b);
	return 0;
}

SEC("tracepoint/core_ambiguous/amb___err_size")
int amb___err_size(void *ctx)
{
	out[5] = bpf_core_type_size(struct core_amb___y);
	return 0;
}
#endif
