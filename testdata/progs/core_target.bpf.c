// SPDX-License-Identifier: GPL-2.0
/*
 * core_target.bpf.c - CO-RE against a synthetic target, with exact expected
 * results for every relocation.
 *
 * Built twice:
 *   - normally: the LOCAL object testdata/progs/core_target.bpf.o (programs
 *     plus the local layouts below),
 *   - with -DTARGET: only the TARGET layouts of the same named types (moved,
 *     renamed, resized, removed fields, changed enum values, 64-bit enums).
 *     That object's .BTF, extracted raw, is
 *     testdata/targets/core_target.target.btf: the "kernel" BTF to relocate
 *     the local object against.
 *
 * testdata/targets/core_target.expected.json lists, per program and in
 * relocation order, the kind and the exact target value of every CO-RE
 * relocation, computed by hand from the layouts here (see
 * testdata/targets/core_target_expected.py).  Relocate this object ONLY
 * against core_target.target.btf: these types do not exist in any kernel.
 *
 * Every one of the 13 CO-RE relocation kinds appears.  Programs whose name
 * contains ___err_ hold relocations that must fail (libbpf poisons the
 * instruction): missing field, incompatible field type, array index out of
 * the target's bounds, missing enumerator, unsafe load-size change.
 * The programs are meant for relocation only; they are not meant to pass a
 * kernel verifier (direct_loads dereferences a pointer taken from ctx).
 */
#include "vmlinux_min.h"
#include <bpf_helpers.h>
#include <bpf_core_read.h>
#include <bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

#ifndef TARGET
/* ======================================================================== */
/* LOCAL layouts (what the program was compiled against)                     */
/* ======================================================================== */

/* moved, resized, re-signed and removed fields */
struct core_basic {
	int a;			/* 0  */
	long b;			/* 8  */
	char c;			/* 16 */
	short d;		/* 18 */
	unsigned int e;		/* 20: removed in the target */
	void *p;		/* 24 */
	unsigned short f;	/* 32 */
};				/* size 40 */

/* bitfields: moved, resized, re-signed.  ('plain' sits between 'wide' and
 * 'big' because clang-16 aborts on a field-info builtin for a 40-bit u64
 * bitfield that directly follows u32 bitfields.) */
struct core_bits {
	unsigned int flag_a: 1;		/* bit  0 */
	unsigned int flag_b: 3;		/* bits 1..3 */
	int sval: 5;			/* bits 4..8 */
	unsigned int wide: 20;		/* bits 9..28 */
	unsigned char plain;		/* byte 4 */
	unsigned long long big: 40;	/* bits 64..103 */
};

struct core_inner {
	int x;
	int y;
};

/* nested, anonymous members, arrays, pointer chain */
struct core_nested {
	int id;					/* 0 */
	struct core_inner inner;		/* 4 */
	union {					/* 12 */
		int u_int;
		char u_bytes[4];
	};
	struct {				/* 16 */
		long anon_a;
		long anon_b;
	};
	struct core_inner arr[4];		/* 32 */
	struct core_nested *next;		/* 64 */
};

/* renamed field: two flavors of the same type */
struct core_flavor___v1 {
	int old_name;
	int common;
};

struct core_flavor___v2 {
	int new_name;
	int common;
	long added;
};

enum core_sign_enum {
	CS_POS = 1,
};

struct core_signs {
	unsigned int u2s;
	int s2u;
	enum core_sign_enum e;
	char ch;
};

/* field types that do not match the target's */
struct core_incompat {
	int val;
	struct core_inner *ptr;
};

/* a struct here, a union in the target */
struct core_kind_mismatch {
	int x;
};

/* not in the target at all */
struct core_missing {
	int x;
};

struct core_sized {
	int a;
	int b;
};

union core_union {
	int i;
	long l;
};

typedef unsigned int core_word_t;

enum core_enum {
	CE_A = 1,
	CE_B = 2,
	CE_C = 3,
};

enum core_enum___v2 {
	CE_D = 4,
};

enum core_enum64 {
	CE64_SMALL = 1,
	CE64_BIG = 0x100000000ULL,
};

/* 32-bit here, 64-bit in the target */
enum core_grow {
	CG_X = 5,
};

#else /* TARGET */
/* ======================================================================== */
/* TARGET layouts (the synthetic "kernel")                                   */
/* Offsets in comments are the values the expectations are computed from.   */
/* ======================================================================== */

struct core_basic {
	char c;			/* 0 */
	void *p;		/* 8 */
	unsigned long long b;	/* 16: long -> unsigned long long */
	int a;			/* 24 */
	unsigned int f;		/* 28: u16 -> u32 */
	int d;			/* 32: short -> int */
	char pad[12];		/* 36 */
};				/* size 48; 'e' removed */

struct core_bits {
	unsigned long long pad0;	/* bits   0..63  */
	unsigned int flag_b: 3;		/* bits  64..66  */
	unsigned int flag_a: 1;		/* bit   67      */
	unsigned int wide: 24;		/* bits  68..91  (20 -> 24 bits) */
	int sval: 7;			/* bits  96..102 (does not fit 92..98 of the unit) */
	unsigned char plain;		/* byte  13 = bits 104..111 */
	unsigned long long big: 40;	/* bits 128..167 (next u64 unit) */
};					/* size 24 */

struct core_inner {
	int z;			/* 0 */
	int y;			/* 4 */
	int x;			/* 8 */
};				/* size 12 */

struct core_nested {
	long long pad;			/* 0 */
	struct {
		int id;			/* 8 */
		struct core_inner inner;	/* 12 */
	};
	long anon_b;			/* 24 */
	long anon_a;			/* 32 */
	union {
		char u_bytes[8];	/* 40 (4 -> 8 bytes) */
		int u_int;		/* 40 */
	};
	struct core_nested *next;	/* 48 */
	struct core_inner arr[2];	/* 56 (4 -> 2 elements) */
};					/* size 80 */

struct core_flavor {
	long added;		/* 0 */
	int common;		/* 8 */
	int new_name;		/* 12 */
};

enum core_sign_enum {
	CS_NEG = -1,
	CS_POS = 1,
};

struct core_signs {
	long u2s;			/* 0: unsigned int -> long */
	unsigned short s2u;		/* 8: int -> unsigned short */
	enum core_sign_enum e;		/* 12: now a signed enum */
	unsigned char ch;		/* 16: char -> unsigned char */
};

struct core_incompat {
	struct core_inner val;	/* int -> struct */
	int ptr;		/* pointer -> int */
};

union core_kind_mismatch {
	int x;
};

struct core_sized {
	int a;			/* 0 */
	int b;			/* 4 */
	long c;			/* 8 */
	int d;			/* 16 */
};				/* size 24 */

union core_union {
	int i;
	char buf[32];
};				/* size 32 */

typedef unsigned long long core_word_t;	/* 4 -> 8 bytes */

enum core_enum {
	CE_C = 30,
	CE_A = 10,
	CE_D = 40,
};				/* CE_B removed */

enum core_enum64 {
	CE64_BIG = 0xfedcba9876543210ULL,
	CE64_SMALL = 7,
	CE64_NEW = 0x8000000000000000ULL,
};

enum core_grow {
	CG_X = 0x123456789ULL,
};

#endif /* TARGET */

#pragma clang attribute pop

#ifdef TARGET
/* reference every target type so that it is in this object's BTF */
struct core_target_types {
	struct core_basic basic;
	struct core_bits bits;
	struct core_nested nested;
	struct core_flavor flavor;
	struct core_signs signs;
	struct core_incompat incompat;
	union core_kind_mismatch kind_mismatch;
	struct core_sized sized;
	union core_union u;
	core_word_t word;
	enum core_enum e;
	enum core_enum64 e64;
	enum core_grow grow;
} core_target_types;

#else /* !TARGET: the programs */

/* every result goes to its own slot so that no two relocations merge */
__u64 out[128];

#define OUT(i, v) (out[(i)] = (__u64)(v))

/* bpf_core_read.h has no public macro for the signedness relocation */
#define core_field_signed(type, field) \
	__builtin_preserve_field_info(((type *)0)->field, BPF_FIELD_SIGNED)

SEC("tracepoint/core_target/field_offsets")
int field_offsets(void *ctx)
{
	OUT(0, bpf_core_field_offset(struct core_basic, a));
	OUT(1, bpf_core_field_offset(struct core_basic, b));
	OUT(2, bpf_core_field_offset(struct core_basic, c));
	OUT(3, bpf_core_field_offset(struct core_basic, d));
	OUT(4, bpf_core_field_offset(struct core_basic, p));
	OUT(5, bpf_core_field_offset(struct core_basic, f));
	OUT(6, bpf_core_field_offset(struct core_nested, id));
	OUT(7, bpf_core_field_offset(struct core_nested, inner.y));
	OUT(8, bpf_core_field_offset(struct core_nested, inner.x));
	OUT(9, bpf_core_field_offset(struct core_nested, u_int));
	OUT(10, bpf_core_field_offset(struct core_nested, u_bytes[2]));
	OUT(11, bpf_core_field_offset(struct core_nested, anon_a));
	OUT(12, bpf_core_field_offset(struct core_nested, anon_b));
	OUT(13, bpf_core_field_offset(struct core_nested, arr[1].y));
	OUT(14, bpf_core_field_offset(struct core_nested, next));
	OUT(15, bpf_core_field_offset(struct core_flavor___v2, new_name));
	OUT(16, bpf_core_field_offset(struct core_flavor___v1, common));
	OUT(17, bpf_core_field_offset(struct core_flavor___v2, added));
	return 0;
}

SEC("tracepoint/core_target/field_sizes")
int field_sizes(void *ctx)
{
	OUT(20, bpf_core_field_size(struct core_basic, b));
	OUT(21, bpf_core_field_size(struct core_basic, d));
	OUT(22, bpf_core_field_size(struct core_basic, f));
	OUT(23, bpf_core_field_size(struct core_basic, p));
	OUT(24, bpf_core_field_size(struct core_nested, u_bytes));
	OUT(25, bpf_core_field_size(struct core_nested, u_bytes[1]));
	OUT(26, bpf_core_field_size(struct core_nested, arr));
	OUT(27, bpf_core_field_size(struct core_nested, inner));
	OUT(28, bpf_core_field_size(struct core_signs, u2s));
	return 0;
}

SEC("tracepoint/core_target/field_exists")
int field_exists(void *ctx)
{
	OUT(30, bpf_core_field_exists(struct core_basic, a));
	OUT(31, bpf_core_field_exists(struct core_basic, e));
	OUT(32, bpf_core_field_exists(struct core_flavor___v1, old_name));
	OUT(33, bpf_core_field_exists(struct core_flavor___v2, new_name));
	OUT(34, bpf_core_field_exists(struct core_nested, anon_a));
	OUT(35, bpf_core_field_exists(struct core_nested, arr[1]));
	OUT(36, bpf_core_field_exists(struct core_nested, arr[3]));
	OUT(37, bpf_core_field_exists(struct core_incompat, val));
	OUT(38, bpf_core_field_exists(struct core_missing, x));
	OUT(39, bpf_core_field_exists(struct core_kind_mismatch, x));
	return 0;
}

SEC("tracepoint/core_target/field_signed")
int field_signed(void *ctx)
{
	OUT(40, core_field_signed(struct core_signs, u2s));
	OUT(41, core_field_signed(struct core_signs, s2u));
	OUT(42, core_field_signed(struct core_signs, e));
	OUT(43, core_field_signed(struct core_signs, ch));
	OUT(44, core_field_signed(struct core_basic, b));
	OUT(45, core_field_signed(struct core_basic, d));
	return 0;
}

/* all six field kinds on bitfields, through the two libbpf macros */
SEC("tracepoint/core_target/bitfields")
int bitfields(struct bpf_raw_tracepoint_args *ctx)
{
	struct core_bits *bits = (void *)ctx->args[0];

	OUT(50, BPF_CORE_READ_BITFIELD_PROBED(bits, flag_a));
	OUT(51, BPF_CORE_READ_BITFIELD_PROBED(bits, flag_b));
	OUT(52, BPF_CORE_READ_BITFIELD_PROBED(bits, sval));
	OUT(53, BPF_CORE_READ_BITFIELD_PROBED(bits, wide));
	OUT(54, BPF_CORE_READ_BITFIELD_PROBED(bits, big));
	OUT(55, BPF_CORE_READ_BITFIELD(bits, plain));
	return 0;
}

SEC("tracepoint/core_target/types")
int types(void *ctx)
{
	OUT(60, bpf_core_type_exists(struct core_basic));
	OUT(61, bpf_core_type_exists(struct core_missing));
	OUT(62, bpf_core_type_exists(struct core_kind_mismatch));
	OUT(63, bpf_core_type_exists(core_word_t));
	OUT(64, bpf_core_type_exists(struct core_flavor___v1));
	OUT(65, bpf_core_type_size(struct core_basic));
	OUT(66, bpf_core_type_size(struct core_sized));
	OUT(67, bpf_core_type_size(union core_union));
	OUT(68, bpf_core_type_size(core_word_t));
	OUT(69, bpf_core_type_size(struct core_missing));
	OUT(70, bpf_core_type_size(enum core_enum64));
	return 0;
}

SEC("tracepoint/core_target/type_ids")
int type_ids(void *ctx)
{
	OUT(72, bpf_core_type_id_local(struct core_basic));
	OUT(73, bpf_core_type_id_local(struct core_missing));
	OUT(74, bpf_core_type_id_kernel(struct core_basic));
	OUT(75, bpf_core_type_id_kernel(struct core_missing));
	OUT(76, bpf_core_type_id_kernel(core_word_t));
	OUT(77, bpf_core_type_id_kernel(struct core_flavor___v2));
	return 0;
}

SEC("tracepoint/core_target/type_matches")
int type_matches(void *ctx)
{
	OUT(80, bpf_core_type_matches(struct core_sized));
	OUT(81, bpf_core_type_matches(struct core_basic));
	OUT(82, bpf_core_type_matches(struct core_flavor___v2));
	OUT(83, bpf_core_type_matches(struct core_flavor___v1));
	OUT(84, bpf_core_type_matches(enum core_enum));
	OUT(85, bpf_core_type_matches(enum core_enum64));
	OUT(86, bpf_core_type_matches(struct core_missing));
	OUT(87, bpf_core_type_matches(union core_union));
	OUT(88, bpf_core_type_matches(core_word_t));
	return 0;
}

SEC("tracepoint/core_target/enums")
int enums(void *ctx)
{
	OUT(90, bpf_core_enum_value_exists(enum core_enum, CE_A));
	OUT(91, bpf_core_enum_value_exists(enum core_enum, CE_B));
	OUT(92, bpf_core_enum_value(enum core_enum, CE_A));
	OUT(93, bpf_core_enum_value(enum core_enum, CE_C));
	OUT(94, bpf_core_enum_value(enum core_enum___v2, CE_D));
	OUT(95, bpf_core_enum_value(enum core_enum64, CE64_BIG));
	OUT(96, bpf_core_enum_value(enum core_enum64, CE64_SMALL));
	OUT(97, bpf_core_enum_value_exists(enum core_enum64, CE64_SMALL));
	OUT(98, bpf_core_enum_value(enum core_grow, CG_X));
	return 0;
}

/* offsets applied to real reads: probe reads (ALU) and a pointer chain */
SEC("tracepoint/core_target/nested_reads")
int nested_reads(struct bpf_raw_tracepoint_args *ctx)
{
	struct core_nested *n = (void *)ctx->args[0];
	struct core_basic *s = (void *)ctx->args[1];
	int v = 0;

	OUT(100, BPF_CORE_READ(n, next, inner.y));
	OUT(101, BPF_CORE_READ(n, arr[1].x));
	/* s[1].a: the first accessor indexes the root type itself */
	bpf_core_read(&v, sizeof(v), &s[1].a);
	OUT(102, v);
	return 0;
}

/* direct loads: the relocation patches the LDX offset (and its size) */
SEC("tracepoint/core_target/direct_loads")
int direct_loads(struct bpf_raw_tracepoint_args *ctx)
{
	struct core_basic *s = (void *)ctx->args[0];

	OUT(104, s->f);		/* u16 -> u32: size patched H -> W */
	OUT(105, s->p);		/* pointer */
	OUT(106, s->b);		/* same size, signedness differs */
	OUT(107, s->c);
	return 0;
}

SEC("tracepoint/core_target/prog___err_missing_field")
int prog___err_missing_field(struct bpf_raw_tracepoint_args *ctx)
{
	struct core_basic *s = (void *)ctx->args[0];

	OUT(110, bpf_core_field_offset(struct core_basic, e));
	OUT(111, bpf_core_field_size(struct core_basic, e));
	OUT(112, BPF_CORE_READ(s, e));
	return 0;
}

SEC("tracepoint/core_target/prog___err_incompat")
int prog___err_incompat(void *ctx)
{
	OUT(114, bpf_core_field_offset(struct core_incompat, val));
	OUT(115, bpf_core_field_offset(struct core_incompat, ptr));
	OUT(116, bpf_core_field_offset(struct core_kind_mismatch, x));
	return 0;
}

SEC("tracepoint/core_target/prog___err_array_oob")
int prog___err_array_oob(void *ctx)
{
	OUT(118, bpf_core_field_offset(struct core_nested, arr[3].x));
	return 0;
}

SEC("tracepoint/core_target/prog___err_enum_missing")
int prog___err_enum_missing(void *ctx)
{
	OUT(120, bpf_core_enum_value(enum core_enum, CE_B));
	return 0;
}

SEC("tracepoint/core_target/prog___err_memsz")
int prog___err_memsz(struct bpf_raw_tracepoint_args *ctx)
{
	struct core_basic *s = (void *)ctx->args[0];

	/* signed short -> int: a 2-byte load cannot be widened safely */
	OUT(122, s->d);
	return 0;
}

#endif /* TARGET */
