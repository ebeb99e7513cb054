#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""core_target_expected.py OBJ TARGET_BTF > core_target.expected.json

The expected result of every CO-RE relocation of testdata/progs/core_target.bpf.o
relocated against testdata/targets/core_target.target.btf.

The values in EXPECTED below were computed BY HAND from the TARGET layouts in
core_target.bpf.c (offsets are written next to each target field there) and
double-checked against `bpftool btf dump file core_target.target.btf format raw`.
They do not come from libbpf.  This script only
  - checks that the object's relocations (read from .BTF.ext by corerelo.py)
    are exactly the ones listed, in the same order (kind, root type, field),
  - resolves the two symbolic values: LOCAL_ID (type_id_local = the local BTF
    id the compiler recorded) and TargetId (the id of the named type in the
    target BTF, looked up by name),
  - and prints the JSON.

Semantics (libbpf's, from relo_core.c):
  - a field-based relocation (other than field_exists) or an enumval_value
    whose field/enumerator is missing or incompatible in the target FAILS
    ("fails": true, "failure": "poison"): libbpf replaces the instruction
    with an invalid call (0xbad2310), so the program is rejected by the
    verifier if that instruction is reachable;
  - field_exists / enumval_exists / type_exists / type_matches give 0 when
    nothing matches, type_size and type_id_target give 0 for a missing type:
    those are results, not failures;
  - a direct load (LDX) whose field changes size is patched to the new size
    only for pointers and unsigned integers; otherwise it FAILS (poisoned
    in bpf_core_patch_insn, although the value itself was computed);
  - lshift_u64 values are for a little-endian host and object;
  - "local" is the value computed from the LOCAL BTF by the same rules
    (corerelo.field_local_value); "insn_value" is what clang put in the
    instruction.  They differ only for bitfields, where libbpf does not
    validate the compiled value.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corerelo  # noqa: E402
from corerelo import Fail, LOCAL_ID, TargetId  # noqa: E402

# (kind, root type, field path, expected target value)
# field paths are corerelo.field_path() spellings: <anon#N> is the N-th
# (anonymous) member of the LOCAL type.
EXPECTED = {
    "field_offsets": [
        ("field_byte_offset", "struct core_basic", "a", 24),
        ("field_byte_offset", "struct core_basic", "b", 16),
        ("field_byte_offset", "struct core_basic", "c", 0),
        ("field_byte_offset", "struct core_basic", "d", 32),
        ("field_byte_offset", "struct core_basic", "p", 8),
        ("field_byte_offset", "struct core_basic", "f", 28),
        ("field_byte_offset", "struct core_nested", "id", 8),          # in an anonymous struct at 8
        ("field_byte_offset", "struct core_nested", "inner.y", 16),    # 12 + 4
        ("field_byte_offset", "struct core_nested", "inner.x", 20),    # 12 + 8
        ("field_byte_offset", "struct core_nested", "<anon#2>.u_int", 40),
        ("field_byte_offset", "struct core_nested", "<anon#2>.u_bytes[2]", 42),
        ("field_byte_offset", "struct core_nested", "<anon#3>.anon_a", 32),  # anonymous -> flat
        ("field_byte_offset", "struct core_nested", "<anon#3>.anon_b", 24),
        ("field_byte_offset", "struct core_nested", "arr[1].y", 72),   # 56 + 1*12 + 4
        ("field_byte_offset", "struct core_nested", "next", 48),
        ("field_byte_offset", "struct core_flavor___v2", "new_name", 12),
        ("field_byte_offset", "struct core_flavor___v1", "common", 8),
        ("field_byte_offset", "struct core_flavor___v2", "added", 0),
    ],
    "field_sizes": [
        ("field_byte_size", "struct core_basic", "b", 8),
        ("field_byte_size", "struct core_basic", "d", 4),
        ("field_byte_size", "struct core_basic", "f", 4),
        ("field_byte_size", "struct core_basic", "p", 8),
        ("field_byte_size", "struct core_nested", "<anon#2>.u_bytes", 8),
        ("field_byte_size", "struct core_nested", "<anon#2>.u_bytes[1]", 1),
        ("field_byte_size", "struct core_nested", "arr", 24),          # 2 * 12
        ("field_byte_size", "struct core_nested", "inner", 12),
        ("field_byte_size", "struct core_signs", "u2s", 8),
    ],
    "field_exists": [
        ("field_exists", "struct core_basic", "a", 1),
        ("field_exists", "struct core_basic", "e", 0),                 # removed
        ("field_exists", "struct core_flavor___v1", "old_name", 0),    # renamed
        ("field_exists", "struct core_flavor___v2", "new_name", 1),
        ("field_exists", "struct core_nested", "<anon#3>.anon_a", 1),
        ("field_exists", "struct core_nested", "arr[1]", 1),
        ("field_exists", "struct core_nested", "arr[3]", 0),           # target has 2 elements
        ("field_exists", "struct core_incompat", "val", 0),            # int vs struct
        ("field_exists", "struct core_missing", "x", 0),               # no such type
        ("field_exists", "struct core_kind_mismatch", "x", 0),         # union in target
    ],
    "field_signed": [
        ("field_signed", "struct core_signs", "u2s", 1),   # unsigned int -> long
        ("field_signed", "struct core_signs", "s2u", 0),   # int -> unsigned short
        ("field_signed", "struct core_signs", "e", 1),     # enum with a negative value
        ("field_signed", "struct core_signs", "ch", 0),    # char -> unsigned char
        ("field_signed", "struct core_basic", "b", 0),     # long -> unsigned long long
        ("field_signed", "struct core_basic", "d", 1),     # short -> int
    ],
    # target core_bits: flag_b bits 64..66, flag_a bit 67, wide 68..91,
    # sval 96..102 (int), plain byte 13, big 128..167 (u64 unit).
    # byte_off = bit_off/8/size*size; lshift = 64 - (bit_off + bits - byte_off*8);
    # rshift = 64 - bits.  Each macro emits rshift twice (signed/unsigned arm).
    "bitfields": [
        ("field_byte_offset", "struct core_bits", "flag_a", 8),
        ("field_byte_size", "struct core_bits", "flag_a", 4),
        ("field_lshift_u64", "struct core_bits", "flag_a", 60),
        ("field_signed", "struct core_bits", "flag_a", 0),
        ("field_rshift_u64", "struct core_bits", "flag_a", 63),
        ("field_rshift_u64", "struct core_bits", "flag_a", 63),
        ("field_byte_offset", "struct core_bits", "flag_b", 8),
        ("field_byte_size", "struct core_bits", "flag_b", 4),
        ("field_lshift_u64", "struct core_bits", "flag_b", 61),
        ("field_signed", "struct core_bits", "flag_b", 0),
        ("field_rshift_u64", "struct core_bits", "flag_b", 61),
        ("field_rshift_u64", "struct core_bits", "flag_b", 61),
        ("field_byte_offset", "struct core_bits", "sval", 12),
        ("field_byte_size", "struct core_bits", "sval", 4),
        ("field_lshift_u64", "struct core_bits", "sval", 57),
        ("field_signed", "struct core_bits", "sval", 1),
        ("field_rshift_u64", "struct core_bits", "sval", 57),
        ("field_rshift_u64", "struct core_bits", "sval", 57),
        ("field_byte_offset", "struct core_bits", "wide", 8),
        ("field_byte_size", "struct core_bits", "wide", 4),
        ("field_lshift_u64", "struct core_bits", "wide", 36),
        ("field_signed", "struct core_bits", "wide", 0),
        ("field_rshift_u64", "struct core_bits", "wide", 40),
        ("field_rshift_u64", "struct core_bits", "wide", 40),
        ("field_byte_offset", "struct core_bits", "big", 16),
        ("field_byte_size", "struct core_bits", "big", 8),
        ("field_lshift_u64", "struct core_bits", "big", 24),
        ("field_signed", "struct core_bits", "big", 0),
        ("field_rshift_u64", "struct core_bits", "big", 24),
        ("field_rshift_u64", "struct core_bits", "big", 24),
        ("field_byte_offset", "struct core_bits", "plain", 13),
        ("field_byte_size", "struct core_bits", "plain", 1),
        ("field_lshift_u64", "struct core_bits", "plain", 56),
        ("field_signed", "struct core_bits", "plain", 0),
        ("field_rshift_u64", "struct core_bits", "plain", 56),
        ("field_rshift_u64", "struct core_bits", "plain", 56),
    ],
    "types": [
        ("type_exists", "struct core_basic", "", 1),
        ("type_exists", "struct core_missing", "", 0),
        ("type_exists", "struct core_kind_mismatch", "", 0),   # union in target
        ("type_exists", "typedef core_word_t", "", 1),
        ("type_exists", "struct core_flavor___v1", "", 1),     # flavor suffix ignored
        ("type_size", "struct core_basic", "", 48),
        ("type_size", "struct core_sized", "", 24),
        ("type_size", "union core_union", "", 32),
        ("type_size", "typedef core_word_t", "", 8),
        ("type_size", "struct core_missing", "", 0),
        ("type_size", "enum core_enum64", "", 8),
    ],
    "type_ids": [
        ("type_id_local", "struct core_basic", "", LOCAL_ID),
        ("type_id_local", "struct core_missing", "", LOCAL_ID),
        ("type_id_target", "struct core_basic", "", TargetId("struct", "core_basic")),
        ("type_id_target", "struct core_missing", "", 0),
        ("type_id_target", "typedef core_word_t", "", TargetId("typedef", "core_word_t")),
        ("type_id_target", "struct core_flavor___v2", "", TargetId("struct", "core_flavor")),
    ],
    "type_matches": [
        ("type_matches", "struct core_sized", "", 1),          # local members are a subset
        ("type_matches", "struct core_basic", "", 0),          # b: signed -> unsigned
        ("type_matches", "struct core_flavor___v2", "", 1),
        ("type_matches", "struct core_flavor___v1", "", 0),    # old_name missing
        ("type_matches", "enum core_enum", "", 0),             # CE_B missing
        ("type_matches", "enum core_enum64", "", 1),
        ("type_matches", "struct core_missing", "", 0),
        ("type_matches", "union core_union", "", 0),           # l missing
        ("type_matches", "typedef core_word_t", "", 0),        # u32 vs u64
    ],
    "enums": [
        ("enumval_exists", "enum core_enum", "CE_A", 1),
        ("enumval_exists", "enum core_enum", "CE_B", 0),
        ("enumval_value", "enum core_enum", "CE_A", 10),
        ("enumval_value", "enum core_enum", "CE_C", 30),
        ("enumval_value", "enum core_enum___v2", "CE_D", 40),
        ("enumval_value", "enum core_enum64", "CE64_BIG", 0xfedcba9876543210),
        ("enumval_value", "enum core_enum64", "CE64_SMALL", 7),
        ("enumval_exists", "enum core_enum64", "CE64_SMALL", 1),
        ("enumval_value", "enum core_grow", "CG_X", 0x123456789),  # ENUM -> ENUM64
    ],
    "nested_reads": [
        ("field_byte_offset", "struct core_nested", "next", 48),
        ("field_byte_offset", "struct core_nested", "inner.y", 16),
        ("field_byte_offset", "struct core_nested", "arr[1].x", 76),   # 56 + 12 + 8
        ("field_byte_offset", "struct core_basic", "[1].a", 72),       # 1*48 + 24
    ],
    "direct_loads": [
        ("field_byte_offset", "struct core_basic", "f", 28),
        ("field_byte_offset", "struct core_basic", "p", 8),
        ("field_byte_offset", "struct core_basic", "b", 16),
        ("field_byte_offset", "struct core_basic", "c", 0),
    ],
    "prog___err_missing_field": [
        ("field_byte_offset", "struct core_basic", "e", Fail("field 'e' not in target")),
        ("field_byte_size", "struct core_basic", "e", Fail("field 'e' not in target")),
    ],
    "prog___err_incompat": [
        ("field_byte_offset", "struct core_incompat", "val", Fail("int field is a struct in target")),
        ("field_byte_offset", "struct core_incompat", "ptr", Fail("pointer field is an int in target")),
        ("field_byte_offset", "struct core_kind_mismatch", "x", Fail("struct is a union in target: no candidate")),
    ],
    "prog___err_array_oob": [
        ("field_byte_offset", "struct core_nested", "arr[3].x", Fail("index 3 beyond target array of 2")),
    ],
    "prog___err_enum_missing": [
        ("enumval_value", "enum core_enum", "CE_B", Fail("enumerator CE_B not in target")),
    ],
    "prog___err_memsz": [
        ("field_byte_offset", "struct core_basic", "d", Fail("signed 2-byte load, target field is 4 bytes")),
    ],
}

# LDX memory sizes (bytes) after relocation, by hand: f u16 -> u32
LDX_SIZES = {
    ("direct_loads", "f"): (2, 4),
    ("direct_loads", "p"): (8, 8),
    ("direct_loads", "b"): (8, 8),
    ("direct_loads", "c"): (1, 1),
    ("prog___err_memsz", "d"): (2, None),
}


DESCRIPTION = (
    "Expected CO-RE relocation results for core_target.bpf.o relocated against "
    "core_target.target.btf. Values computed by hand from the TARGET layouts in "
    "testdata/progs/core_target.bpf.c; generated by "
    "testdata/targets/core_target_expected.py (see its docstring for the "
    "semantics of 'fails').")


def main(argv):
    return corerelo.generate_expected(argv, EXPECTED, LDX_SIZES, "core_target", DESCRIPTION)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
