#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""corerelo.py - read the CO-RE relocations recorded in a BPF ELF object.

A small, dependency-free reader of ELF64 (either byte order), .BTF and
.BTF.ext written for the corebpf test corpus.  It does NOT use libbpf: it is
the independent view of "what did clang emit" that the expectations in
testdata/targets/*.expected.json are checked against.

  corerelo.py dump OBJ.o          list every CO-RE relocation per program:
                                  insn index, kind, root type, access string,
                                  field path and the value the compiler put
                                  in the instruction (the "local" value)
  corerelo.py kinds OBJ.o ...     one line per object: the relocation kinds present
  corerelo.py btf-magic FILE      exit 0 if FILE starts with the BTF magic

Also imported by the NAME_expected.py scripts (generate_expected()).
"""
import struct
import sys

BTF_MAGIC = 0xEB9F

KINDS = {
    0: "field_byte_offset",
    1: "field_byte_size",
    2: "field_exists",
    3: "field_signed",
    4: "field_lshift_u64",
    5: "field_rshift_u64",
    6: "type_id_local",
    7: "type_id_target",
    8: "type_exists",
    9: "type_size",
    10: "enumval_exists",
    11: "enumval_value",
    12: "type_matches",
}
FIELD_KINDS = {0, 1, 2, 3, 4, 5}
TYPE_KINDS = {6, 7, 8, 9, 12}
ENUM_KINDS = {10, 11}

# BTF kinds
(K_UNKN, K_INT, K_PTR, K_ARRAY, K_STRUCT, K_UNION, K_ENUM, K_FWD, K_TYPEDEF,
 K_VOLATILE, K_CONST, K_RESTRICT, K_FUNC, K_FUNC_PROTO, K_VAR, K_DATASEC,
 K_FLOAT, K_DECL_TAG, K_TYPE_TAG, K_ENUM64) = range(20)
KIND_NAMES = ["unkn", "int", "ptr", "array", "struct", "union", "enum", "fwd",
              "typedef", "volatile", "const", "restrict", "func", "func_proto",
              "var", "datasec", "float", "decl_tag", "type_tag", "enum64"]


class BtfType:
    __slots__ = ("id", "kind", "name", "kflag", "vlen", "size", "type",
                 "members", "enums", "array", "int_enc", "int_bits",
                 "int_off")

    def __init__(self):
        self.members = []
        self.enums = []
        self.array = None
        self.name = ""
        self.size = 0
        self.type = 0


class Btf:
    """Parsed .BTF (raw blob)."""

    def __init__(self, data):
        if len(data) < 24:
            raise ValueError("BTF too short")
        magic_le = struct.unpack_from("<H", data, 0)[0]
        magic_be = struct.unpack_from(">H", data, 0)[0]
        if magic_le == BTF_MAGIC:
            self.e = "<"
        elif magic_be == BTF_MAGIC:
            self.e = ">"
        else:
            raise ValueError("bad BTF magic")
        e = self.e
        (_, _ver, _flags, hdr_len, type_off, type_len, str_off,
         str_len) = struct.unpack_from(e + "HBBIIIII", data, 0)
        self.strs = data[hdr_len + str_off:hdr_len + str_off + str_len]
        tdata = data[hdr_len + type_off:hdr_len + type_off + type_len]
        self.types = [None]
        off = 0
        while off < len(tdata):
            name_off, info, size_type = struct.unpack_from(e + "III", tdata, off)
            off += 12
            t = BtfType()
            t.id = len(self.types)
            t.kind = (info >> 24) & 0x1F
            t.kflag = info >> 31
            t.vlen = info & 0xFFFF
            t.name = self.str(name_off)
            t.size = t.type = size_type
            k = t.kind
            if k == K_INT:
                v = struct.unpack_from(e + "I", tdata, off)[0]
                off += 4
                t.int_enc = (v >> 24) & 0xF
                t.int_off = (v >> 16) & 0xFF
                t.int_bits = v & 0xFF
            elif k == K_ARRAY:
                t.array = struct.unpack_from(e + "III", tdata, off)  # elem, index, nelems
                off += 12
            elif k in (K_STRUCT, K_UNION):
                for _ in range(t.vlen):
                    mn, mt, mo = struct.unpack_from(e + "III", tdata, off)
                    off += 12
                    if t.kflag:
                        t.members.append((self.str(mn), mt, mo & 0xFFFFFF, mo >> 24))
                    else:
                        t.members.append((self.str(mn), mt, mo, 0))
            elif k == K_ENUM:
                signed = t.kflag
                for _ in range(t.vlen):
                    en, ev = struct.unpack_from(e + "Ii", tdata, off)
                    off += 8
                    t.enums.append((self.str(en), ev if signed else ev & 0xFFFFFFFF))
            elif k == K_ENUM64:
                for _ in range(t.vlen):
                    en, lo, hi = struct.unpack_from(e + "III", tdata, off)
                    off += 12
                    v = (hi << 32) | lo
                    if t.kflag and v >= 1 << 63:
                        v -= 1 << 64
                    t.enums.append((self.str(en), v))
            elif k == K_FUNC_PROTO:
                off += 8 * t.vlen
            elif k == K_VAR:
                off += 4
            elif k == K_DATASEC:
                off += 12 * t.vlen
            elif k == K_DECL_TAG:
                off += 4
            self.types.append(t)

    def str(self, off):
        end = self.strs.index(b"\0", off)
        return self.strs[off:end].decode()

    def skip_mods(self, tid):
        t = self.types[tid]
        while t.kind in (K_TYPEDEF, K_VOLATILE, K_CONST, K_RESTRICT, K_TYPE_TAG):
            t = self.types[t.type]
        return t

    def type_str(self, tid):
        t = self.types[tid]
        if t.kind in (K_STRUCT, K_UNION, K_ENUM, K_ENUM64, K_FWD):
            kw = {K_STRUCT: "struct", K_UNION: "union", K_ENUM: "enum",
                  K_ENUM64: "enum", K_FWD: "fwd"}[t.kind]
            return "%s %s" % (kw, t.name or "(anon)")
        if t.kind == K_TYPEDEF:
            return "typedef %s" % t.name
        return "%s %s" % (KIND_NAMES[t.kind], t.name or "(anon)")

    def by_name(self, kind_word, name):
        """Ids of named types: kind_word is struct/union/enum/typedef."""
        want = {"struct": (K_STRUCT,), "union": (K_UNION,),
                "enum": (K_ENUM, K_ENUM64), "typedef": (K_TYPEDEF,)}[kind_word]
        return [t.id for t in self.types[1:] if t.kind in want and t.name == name]


def resolve_size(btf, tid):
    t = btf.types[tid]
    while True:
        if t.kind in (K_TYPEDEF, K_VOLATILE, K_CONST, K_RESTRICT, K_TYPE_TAG):
            t = btf.types[t.type]
        elif t.kind == K_ARRAY:
            return t.array[2] * resolve_size(btf, t.array[0])
        elif t.kind == K_PTR:
            return 8
        else:
            return t.size


def field_local_value(btf, type_id, access, kind):
    """The LOCAL value of a field-based relocation, computed from the local
    BTF with the CO-RE rules (an independent re-statement of libbpf's
    bpf_core_calc_field_relo, little-endian).  For bitfields it can differ
    from the immediate clang put in the instruction (clang and libbpf pick
    different load sizes; libbpf does not validate those)."""
    idx = [int(x) for x in access.split(":")]
    if kind == 2:
        return 1
    bit_off = idx[0] * resolve_size(btf, type_id) * 8
    t = btf.skip_mods(type_id)
    last = None  # (member, parent) of the last named access, None for a[n]
    elem_tid = type_id
    for i in idx[1:]:
        if t.kind in (K_STRUCT, K_UNION):
            m = t.members[i]
            bit_off += m[2]
            last = (m, t)
            elem_tid = m[1]
            t = btf.skip_mods(m[1])
        elif t.kind == K_ARRAY:
            bit_off += i * resolve_size(btf, t.array[0]) * 8
            last = None
            elem_tid = t.array[0]
            t = btf.skip_mods(t.array[0])
    if last is None:  # a[n]: only offset and size make sense
        if kind == 0:
            return bit_off // 8
        if kind == 1:
            return resolve_size(btf, elem_tid)
        raise ValueError("kind %d on an array element" % kind)
    m, _ = last
    mt = btf.skip_mods(m[1])
    bit_sz = m[3]
    if bit_sz:
        byte_sz = mt.size
        byte_off = bit_off // 8 // byte_sz * byte_sz
        while bit_off + bit_sz - byte_off * 8 > byte_sz * 8:
            byte_sz *= 2
            byte_off = bit_off // 8 // byte_sz * byte_sz
    else:
        byte_sz = resolve_size(btf, m[1])
        byte_off = bit_off // 8
        bit_sz = byte_sz * 8
    if kind == 0:
        return byte_off
    if kind == 1:
        return byte_sz
    if kind == 3:
        if mt.kind in (K_ENUM, K_ENUM64):
            return int(bool(mt.kflag))
        return int(mt.kind == K_INT and bool(mt.int_enc & 1))
    if kind == 4:
        return 64 - (bit_off + bit_sz - byte_off * 8)
    if kind == 5:
        return 64 - bit_sz
    raise ValueError(kind)


def field_path(btf, type_id, access, kind):
    """Human-readable form of a CO-RE access string."""
    idx = [int(x) for x in access.split(":")]
    if kind in TYPE_KINDS:
        return ""
    t = btf.skip_mods(type_id)
    if kind in ENUM_KINDS:
        return t.enums[idx[0]][0]
    out = "" if idx[0] == 0 else "[%d]" % idx[0]
    for i in idx[1:]:
        if t.kind in (K_STRUCT, K_UNION):
            name, mt, _, _ = t.members[i]
            if name:
                out += ("." if out else "") + name
            else:
                out += ("." if out else "") + "<anon#%d>" % i
            t = btf.skip_mods(mt)
        elif t.kind == K_ARRAY:
            out += "[%d]" % i
            t = btf.skip_mods(t.array[0])
        else:
            raise ValueError("bad access %s" % access)
    return out


class Elf:
    def __init__(self, data):
        if data[:4] != b"\x7fELF" or data[4] != 2:
            raise ValueError("not an ELF64 file")
        self.e = "<" if data[5] == 1 else ">"
        self.data = data
        e = self.e
        shoff = struct.unpack_from(e + "Q", data, 0x28)[0]
        shentsize, shnum, shstrndx = struct.unpack_from(e + "HHH", data, 0x3A)
        self.sections = []
        for i in range(shnum):
            (name, typ, flags, addr, off, size, link, info, align,
             entsize) = struct.unpack_from(e + "IIQQQQIIQQ", data, shoff + i * shentsize)
            self.sections.append(dict(name_off=name, type=typ, off=off, size=size,
                                      link=link, entsize=entsize))
        strtab = self.sections[shstrndx]
        for s in self.sections:
            b = data[strtab["off"] + s["name_off"]:]
            s["name"] = b[:b.index(b"\0")].decode()

    def section(self, name):
        for i, s in enumerate(self.sections):
            if s["name"] == name:
                return i, s
        return None, None

    def contents(self, s):
        if s["type"] == 8:  # SHT_NOBITS
            return b""
        return self.data[s["off"]:s["off"] + s["size"]]

    def func_symbols(self):
        """{section index: [(value, name)]} for STT_FUNC symbols."""
        _, symtab = self.section(".symtab")
        strtab = self.sections[symtab["link"]]
        sd = self.contents(symtab)
        out = {}
        for off in range(0, len(sd), 24):
            name, info, other, shndx, value, size = struct.unpack_from(self.e + "IBBHQQ", sd, off)
            if info & 0xF != 2:  # STT_FUNC
                continue
            b = self.data[strtab["off"] + name:]
            out.setdefault(shndx, []).append((value, b[:b.index(b"\0")].decode()))
        for v in out.values():
            v.sort()
        return out


def read_relos(path):
    """Return (elf, btf, [program dict]) with the CO-RE relocations of OBJ."""
    with open(path, "rb") as f:
        data = f.read()
    elf = Elf(data)
    _, bs = elf.section(".BTF")
    if bs is None:
        raise ValueError("%s: no .BTF section" % path)
    btf = Btf(elf.contents(bs))
    _, xs = elf.section(".BTF.ext")
    progs = []
    if xs is None:
        return elf, btf, progs
    x = elf.contents(xs)
    e = elf.e
    magic, ver, flags, hdr_len = struct.unpack_from(e + "HBBI", x, 0)
    if magic != BTF_MAGIC:
        raise ValueError("bad .BTF.ext magic")
    if hdr_len < 32:
        return elf, btf, progs
    core_off, core_len = struct.unpack_from(e + "II", x, 24)
    rd = x[hdr_len + core_off:hdr_len + core_off + core_len]
    if not rd:
        return elf, btf, progs
    rec_size = struct.unpack_from(e + "I", rd, 0)[0]
    off = 4
    funcs = elf.func_symbols()
    by_prog = {}
    while off < len(rd):
        sec_off, num = struct.unpack_from(e + "II", rd, off)
        off += 8
        sec_name = btf.str(sec_off)
        shndx, sec = elf.section(sec_name)
        code = elf.contents(sec)
        syms = funcs.get(shndx, [])
        for _ in range(num):
            insn_off, type_id, acc_off, kind = struct.unpack_from(e + "IIII", rd, off)
            off += rec_size
            start, prog = 0, "?"
            for v, n in syms:
                if v <= insn_off:
                    start, prog = v, n
            op = code[insn_off]
            cls = op & 7
            off16 = struct.unpack_from(e + "h", code, insn_off + 2)[0]
            imm = struct.unpack_from(e + "i", code, insn_off + 4)[0]
            if op == 0x18:
                hi = struct.unpack_from(e + "I", code, insn_off + 12)[0]
                local = (hi << 32) | (imm & 0xFFFFFFFF)
                insn_kind = "ldimm64"
            elif cls in (1, 2, 3):
                local = off16
                insn_kind = {1: "ldx", 2: "st", 3: "stx"}[cls]
            else:
                local = imm & 0xFFFFFFFF
                insn_kind = "alu"
            access = btf.str(acc_off)
            insn_value = local
            if kind in FIELD_KINDS:
                local = field_local_value(btf, type_id, access, kind)
            key = (sec_name, prog)
            if key not in by_prog:
                by_prog[key] = dict(section=sec_name, program=prog, relocations=[])
                progs.append(by_prog[key])
            by_prog[key]["relocations"].append(dict(
                insn=(insn_off - start) // 8,
                insn_class=insn_kind,
                kind=KINDS.get(kind, "unknown(%d)" % kind),
                kind_id=kind,
                type_id=type_id,
                type=btf.type_str(type_id),
                access=access,
                field=field_path(btf, type_id, access, kind),
                local=local,
                insn_value=insn_value,
            ))
    return elf, btf, progs


# ---------------------------------------------------------------------------
# expectation files: testdata/targets/NAME_expected.py hold hand-computed
# tables and call generate_expected() to lay them out as NAME.expected.json
# ---------------------------------------------------------------------------

class Fail:
    """The relocation fails.  how = "poison": libbpf replaces the instruction
    with an invalid call (the program fails verification only if that
    instruction is reachable); how = "error": libbpf aborts relocation of the
    whole object with an error."""

    def __init__(self, reason, how="poison"):
        self.reason, self.how = reason, how


LOCAL_ID = "LOCAL_ID"   # type_id_local: the local BTF id the compiler recorded


class TargetId:
    """type_id_target: the id of the named type in the target BTF."""

    def __init__(self, kind_word, name):
        self.kind_word, self.name = kind_word, name


def generate_expected(argv, expected, ldx_sizes, name, description):
    """argv = [script, OBJ, TARGET_BTF]; prints the JSON on stdout."""
    import json
    obj, target = argv[1], argv[2]
    with open(target, "rb") as f:
        tbtf = Btf(f.read())
    _, _, progs = read_relos(obj)
    errors = []
    out_progs = []
    seen = set()
    for p in progs:
        pname = p["program"]
        seen.add(pname)
        exp = expected.get(pname)
        if exp is None:
            errors.append("program %s: no expectations" % pname)
            continue
        relos = p["relocations"]
        if len(relos) != len(exp):
            errors.append("program %s: %d relocations in object, %d expected" %
                          (pname, len(relos), len(exp)))
            continue
        out = []
        for i, (r, (kind, typ, field, val)) in enumerate(zip(relos, exp)):
            got = (r["kind"], r["type"], r["field"])
            if got != (kind, typ, field):
                errors.append("program %s relo #%d: object has %s, expected %s" %
                              (pname, i, got, (kind, typ, field)))
                continue
            ent = dict(index=i, insn=r["insn"], insn_class=r["insn_class"],
                       kind=kind, kind_id=r["kind_id"], type=typ,
                       type_id=r["type_id"], access=r["access"], field=field,
                       local=r["local"], insn_value=r["insn_value"])
            if isinstance(val, Fail):
                ent.update(target=None, fails=True, failure=val.how, reason=val.reason)
            else:
                if val == LOCAL_ID:
                    val = r["type_id"]
                elif isinstance(val, TargetId):
                    ids = tbtf.by_name(val.kind_word, val.name)
                    if len(ids) != 1:
                        errors.append("%s %s: %d matches in target BTF" %
                                      (val.kind_word, val.name, len(ids)))
                        continue
                    val = ids[0]
                ent.update(target=val, fails=False)
            if r["insn_class"] == "ldx":
                sz = ldx_sizes.get((pname, field))
                if sz is None:
                    errors.append("program %s relo #%d: no LDX size expectation" % (pname, i))
                else:
                    ent.update(local_mem_size=sz[0], target_mem_size=sz[1])
            out.append(ent)
        out_progs.append(dict(
            name=pname, section=p["section"],
            expect="fail" if any(e["fails"] for e in out) else "ok",
            relocations=out))
    for pname in expected:
        if pname not in seen:
            errors.append("program %s: expected but has no relocations in object" % pname)
    if errors:
        for e in errors:
            sys.stderr.write("%s_expected: %s\n" % (name, e))
        return 1
    doc = dict(
        description=description + " Integers above 2^53-1 are decimal strings; 'local' is "
                    "the value computed from the local BTF, 'insn_value' the immediate/offset "
                    "in the compiled instruction (they differ only for bitfields).",
        object="testdata/progs/%s.bpf.o" % name,
        target_btf="testdata/targets/%s.target.btf" % name,
        byte_order="little",
        relocation_count=sum(len(p["relocations"]) for p in out_progs),
    )
    # JSON numbers are doubles in JavaScript: integers beyond 2^53-1 (64-bit
    # enum values) are written as decimal strings
    for p in out_progs:
        for r in p["relocations"]:
            for k in ("local", "insn_value", "target"):
                if isinstance(r.get(k), int) and abs(r[k]) > (1 << 53) - 1:
                    r[k] = str(r[k])
    # one relocation per line: readable, and diffs show exactly what changed
    w = sys.stdout.write
    w("{\n")
    for k in ("description", "object", "target_btf", "byte_order", "relocation_count"):
        w(" %s: %s,\n" % (json.dumps(k), json.dumps(doc[k])))
    w(' "programs": [\n')
    for pi, p in enumerate(out_progs):
        w("  {\"name\": %s, \"section\": %s, \"expect\": %s, \"relocations\": [\n" % (
            json.dumps(p["name"]), json.dumps(p["section"]), json.dumps(p["expect"])))
        for ri, r in enumerate(p["relocations"]):
            w("   %s%s\n" % (json.dumps(r), "," if ri + 1 < len(p["relocations"]) else ""))
        w("  ]}%s\n" % ("," if pi + 1 < len(out_progs) else ""))
    w(" ]\n}\n")
    return 0


def main(argv):
    if len(argv) >= 3 and argv[1] == "dump":
        for path in argv[2:]:
            _, _, progs = read_relos(path)
            n = sum(len(p["relocations"]) for p in progs)
            print("%s: %d CO-RE relocations" % (path, n))
            for p in progs:
                print("  %s (%s)" % (p["program"], p["section"]))
                for r in p["relocations"]:
                    print("    insn %4d %-7s %-18s %-34s %-10s %-28s local=%d%s" % (
                        r["insn"], r["insn_class"], r["kind"], r["type"],
                        r["access"], r["field"], r["local"],
                        "" if r["insn_value"] == r["local"] else " (insn %d)" % r["insn_value"]))
        return 0
    if len(argv) >= 3 and argv[1] == "kinds":
        for path in argv[2:]:
            _, _, progs = read_relos(path)
            seen = {}
            for p in progs:
                for r in p["relocations"]:
                    seen[r["kind_id"]] = seen.get(r["kind_id"], 0) + 1
            print("%s: %d relos; %s" % (path, sum(seen.values()),
                  ", ".join("%s=%d" % (KINDS[k], seen[k]) for k in sorted(seen)) or "none"))
        return 0
    if len(argv) == 3 and argv[1] == "btf-magic":
        with open(argv[2], "rb") as f:
            head = f.read(2)
        ok = len(head) == 2 and (struct.unpack("<H", head)[0] == BTF_MAGIC or
                                 struct.unpack(">H", head)[0] == BTF_MAGIC)
        return 0 if ok else 1
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
