// The kernel BTF fixtures in testdata/btf (made by scripts/extract-btf.sh) and the BTF
// reader in src/btf: integrity against the manifest, real facts of real kernels, split
// BTF, corrupt input, and (when bpftool is installed) a full cross-check with bpftool.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ObjectFormatError } from '../src/errors.js';
import {
  BTF_KIND_ARRAY, BTF_KIND_ENUM64, BTF_KIND_INT, BTF_KIND_STRUCT, BtfFormatError, parseBtf,
  type Btf, type BtfType,
} from '../src/btf/reader.js';

interface ManifestEntry {
  file: string; package: string; version: string; arch: string; suite: string;
  kernelRelease: string; endianness: 'little' | 'big'; debSha256: string; btfSha256: string;
  btfSize: number; typeCount: number; base: string | null;
  kconfig?: KernelFile; kallsyms?: KernelFile & { symbols: number };
}
interface KernelFile { file: string; package: string; debSha256: string; sha256: string; size: number }

const dir = fileURLToPath(new URL('../testdata/btf/', import.meta.url));
const manifest = JSON.parse(readFileSync(dir + 'manifest.json', 'utf8')) as ManifestEntry[];
const entry = (file: string): ManifestEntry => {
  const e = manifest.find((m) => m.file === file);
  if (!e) throw new Error(`${file} is not in testdata/btf/manifest.json`);
  return e;
};

const blobs = new Map<string, Uint8Array>();
function blob(file: string): Uint8Array {
  let b = blobs.get(file);
  if (!b) {
    b = new Uint8Array(execFileSync('xz', ['-dc', dir + file], { maxBuffer: 256 << 20 }));
    blobs.set(file, b);
  }
  return b;
}
const parsed = new Map<string, Btf>();
function btf(file: string): Btf {
  let b = parsed.get(file);
  if (!b) {
    const e = entry(file);
    b = parseBtf(blob(file), { base: e.base ? btf(e.base) : undefined });
    parsed.set(file, b);
  }
  return b;
}
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const struct = (b: Btf, name: string) => {
  const t = b.findByName(name, BTF_KIND_STRUCT);
  if (t?.kind !== BTF_KIND_STRUCT) throw new Error(`no struct ${name}`);
  return t;
};
const member = (b: Btf, structName: string, name: string) => {
  const m = struct(b, structName).members.find((x) => x.name === name);
  if (!m) throw new Error(`no member ${structName}.${name}`);
  return m;
};

const SLOW = 60_000;

describe('BTF fixture manifest', () => {
  it('covers 12+ kernels on 4+ architectures from 5.10 to 7.x, with a split module BTF', () => {
    const kernels = manifest.filter((e) => e.base === null);
    expect(kernels.length).toBeGreaterThanOrEqual(12);
    expect(new Set(kernels.map((e) => e.arch)).size).toBeGreaterThanOrEqual(4);
    expect(kernels.some((e) => e.kernelRelease.startsWith('5.10.'))).toBe(true);
    expect(kernels.some((e) => e.kernelRelease.startsWith('7.'))).toBe(true);
    expect(kernels.some((e) => e.endianness === 'big')).toBe(true);
    expect(manifest.some((e) => e.base !== null)).toBe(true);
    for (const e of manifest) {
      expect(existsSync(dir + e.file), e.file).toBe(true);
      expect(e.debSha256).toMatch(/^[0-9a-f]{64}$/);
      if (e.base) expect(entry(e.base).base).toBeNull();
    }
  });

  it.each(manifest.map((e) => [e.file, e] as const))(
    '%s decompresses to the recorded blob and parses to the recorded type count',
    (file, e) => {
      const b = blob(file);
      expect(b.length).toBe(e.btfSize);
      expect(sha256(b)).toBe(e.btfSha256);
      const parsedBtf = btf(file);
      expect(parsedBtf.typeCount).toBe(e.typeCount);
      expect(parsedBtf.endianness).toBe(e.endianness);
      // magic 0xeB9F in the kernel's own byte order
      expect([...b.subarray(0, 2)]).toEqual(e.endianness === 'big' ? [0xeb, 0x9f] : [0x9f, 0xeb]);
      expect(parsedBtf.startId).toBe(e.base ? btf(e.base).lastId + 1 : 1);
      expect(parsedBtf.lastId).toBe(parsedBtf.startId + e.typeCount - 1);
    },
    SLOW,
  );
});

describe('each kernel fixture\'s config and symbols (scripts/extract-btf.sh)', () => {
  const kernels = manifest.filter((e) => e.base === null);
  it('every kernel has its config; every kernel but the backports one (no -dbg package) its kallsyms', () => {
    for (const e of kernels) expect(e.kconfig?.file, e.file).toBe(e.file.replace(/\.btf\.xz$/, '.config.xz'));
    expect(kernels.filter((e) => !e.kallsyms).map((e) => e.file)).toEqual(['amd64-6.18.15.btf.xz']);
  });

  it.each(kernels.map((e) => [e.file, e] as const))('%s: config and kallsyms match the manifest and are what they claim', (file, e) => {
    const cfg = blob(e.kconfig!.file);
    expect(cfg.length).toBe(e.kconfig!.size);
    expect(sha256(cfg)).toBe(e.kconfig!.sha256);
    expect(e.kconfig!.debSha256).toMatch(/^[0-9a-f]{64}$/);
    const text = new TextDecoder().decode(cfg);
    expect(text).toMatch(/^CONFIG_BPF_SYSCALL=y$/m);
    expect(text).toMatch(/^CONFIG_DEBUG_INFO_BTF=y$/m);
    // the config is this kernel's: its arch symbol
    const archSym: Record<string, string> = { amd64: 'X86_64', arm64: 'ARM64', ppc64el: 'PPC64', s390x: 'S390', riscv64: 'RISCV' };
    expect(text).toMatch(new RegExp(`^CONFIG_${archSym[e.arch]}=y$`, 'm'));
    if (!e.kallsyms) return;
    const ks = blob(e.kallsyms.file);
    expect(ks.length).toBe(e.kallsyms.size);
    expect(sha256(ks)).toBe(e.kallsyms.sha256);
    expect(e.kallsyms.package).toMatch(/-dbg$/);
    const lines = new TextDecoder().decode(ks).trimEnd().split('\n');
    expect(lines.length).toBe(e.kallsyms.symbols);
    expect(lines.length).toBeGreaterThan(40_000);
    // /proc/kallsyms form, names a C extern can spell, padding and export-table symbols left out
    for (const l of lines) expect(l).toMatch(/^[0-9a-f]{16} [A-Za-z] [A-Za-z0-9_$]+$/);
    expect(lines.some((l) => / __pfx_| __ksymtab_/.test(l))).toBe(false);
    expect(lines.some((l) => / [Tt] (__sys_bpf|bpf_prog_load)$/.test(l))).toBe(true);
  }, SLOW);
});

// Measured with `bpftool btf dump file X format raw`: size of struct task_struct and the
// bit offset of its `pid` member. Layouts really differ across versions and arches.
const TASK_STRUCT: Record<string, [size: number, pidBits: number]> = {
  'amd64-5.10.223.btf.xz': [9408, 17856],
  'amd64-6.1.176.btf.xz': [9792, 19328],
  'amd64-6.12.107.btf.xz': [9792, 19456],
  'amd64-6.18.15.btf.xz': [5888, 21632],
  'amd64-7.2.13.btf.xz': [6080, 22464],
  'arm64-5.10.223.btf.xz': [3904, 10432],
  'arm64-6.1.176.btf.xz': [4160, 10816],
  'arm64-6.12.107.btf.xz': [4736, 11008],
  'arm64-7.2.13.btf.xz': [4736, 14528],
  'ppc64el-6.12.107.btf.xz': [4992, 16128],
  'ppc64el-7.2.13.btf.xz': [5504, 18624],
  'riscv64-6.12.107.btf.xz': [3648, 11136],
  'riscv64-7.2.13.btf.xz': [4224, 15296],
  's390x-6.12.107.btf.xz': [5120, 15360],
  's390x-7.2.13.btf.xz': [5120, 15808],
};

describe('facts of real kernels', () => {
  it('every vmlinux fixture has a task_struct expectation', () => {
    expect(Object.keys(TASK_STRUCT).sort()).toEqual(manifest.filter((e) => !e.base).map((e) => e.file).sort());
  });

  it.each(Object.entries(TASK_STRUCT))('%s: task_struct size and pid offset', (file, [size, pidBits]) => {
    const b = btf(file);
    const ts = struct(b, 'task_struct');
    expect(ts.size).toBe(size);
    expect(b.resolveSize(ts.id)).toBe(size);
    const pid = member(b, 'task_struct', 'pid');
    expect(pid.bitOffset).toBe(pidBits);
    expect(pid.bitfieldSize).toBe(0);
    // pid_t -> __kernel_pid_t -> int
    expect(b.typeById(pid.type)).toMatchObject({ kindName: 'TYPEDEF', name: 'pid_t' });
    const int = b.typeById(b.resolveType(pid.type));
    expect(int).toMatchObject({ kind: BTF_KIND_INT, name: 'int', size: 4, signed: true, bits: 32 });
    expect(b.resolveSize(pid.type)).toBe(4);
    // comm is char[16] (TASK_COMM_LEN)
    const comm = b.typeById(b.resolveType(member(b, 'task_struct', 'comm').type));
    expect(comm.kind).toBe(BTF_KIND_ARRAY);
    if (comm.kind === BTF_KIND_ARRAY) {
      expect(comm.nelems).toBe(16);
      expect(b.typeById(b.resolveType(comm.elemType))).toMatchObject({ kindName: 'INT', name: 'char', size: 1 });
    }
    expect(b.resolveSize(member(b, 'task_struct', 'comm').type)).toBe(16);
    // a pointer member on 64-bit kernels
    const parent = b.typeById(member(b, 'task_struct', 'real_parent').type);
    expect(parent.kindName).toBe('PTR');
    expect(b.resolveSize(parent.id)).toBe(8);
    expect(b.pointerSize).toBe(8);
    expect(b.findAllByName('task_struct', 'STRUCT')).toHaveLength(1);
  }, SLOW);

  it('filters names by kind (arm64 5.10 also has a FWD task_struct)', () => {
    const b = btf('arm64-5.10.223.btf.xz');
    const fwd = b.findByName('task_struct', 'FWD');
    expect(fwd).toMatchObject({ kindName: 'FWD', fwdKind: 'struct' });
    expect(b.findByName('task_struct')).toMatchObject({ id: 194, kindName: 'STRUCT' });   // lowest id first
    expect(b.findAllByName('task_struct').map((t) => t.kindName)).toEqual(['STRUCT', 'FWD']);
    expect(btf('amd64-5.10.223.btf.xz').findByName('task_struct', 'FWD')).toBeUndefined();
  });

  it('the name index finds exactly what a scan of every type finds (split BTF naming base strings too)', () => {
    const mod = btf('amd64-6.1.176.mod-ext4.btf.xz');
    const names = new Map<string, number[]>();
    for (let id = mod.startId; id <= mod.lastId; id++) {
      const n = mod.typeById(id).name;
      if (n) names.set(n, [...(names.get(n) ?? []), id]);
    }
    // every name of the module, with the base's ids first
    for (const [n, ids] of names) {
      expect(mod.findAllByName(n).map((t) => t.id)).toEqual([...mod.base!.findAllByName(n).map((t) => t.id), ...ids]);
    }
    // some module types are named by strings of the base (pahole dedups them against vmlinux)
    let inBase = 0;
    for (let id = mod.startId; id <= mod.lastId; id++) {
      const off = mod.typeById(id).nameOff;
      if (off && off < mod.startStrOff) inBase++;
    }
    expect(inBase).toBeGreaterThan(0);
    expect(mod.findAllByName('no_such_type_anywhere')).toEqual([]);
    expect(mod.findAllByName('task_struc')).toEqual([]); // a prefix of a name is not that name
  }, SLOW);

  it('s390x is big-endian and decodes to the same values as amd64', () => {
    for (const file of ['s390x-6.12.107.btf.xz', 's390x-7.2.13.btf.xz']) expect(entry(file).endianness).toBe('big');
    const be = btf('s390x-6.12.107.btf.xz'), le = btf('amd64-6.12.107.btf.xz');
    expect(be.endianness).toBe('big');
    expect(le.endianness).toBe('little');
    const values = (b: Btf, name: string) => {
      const t = b.findByName(name);
      if (t?.kindName !== 'ENUM' && t?.kindName !== 'ENUM64') throw new Error(`no enum ${name}`);
      return Object.fromEntries(t.values.map((v) => [v.name, v.value]));
    };
    const bpfMapType = values(be, 'bpf_map_type');
    expect(bpfMapType.BPF_MAP_TYPE_RINGBUF).toBe(27);
    expect(bpfMapType).toEqual(values(le, 'bpf_map_type'));
    // ENUM64 on big-endian: the two 32-bit halves must not be swapped
    const callchain = values(be, 'perf_callchain_context');
    expect(be.findByName('perf_callchain_context')?.kind).toBe(BTF_KIND_ENUM64);
    expect(callchain.PERF_CONTEXT_HV).toBe(0xffffffffffffffe0n);            // (__u64)-32
    expect(callchain.PERF_CONTEXT_MAX).toBe(0xfffffffffffff001n);           // (__u64)-4095
    expect(callchain).toEqual(values(le, 'perf_callchain_context'));
    expect(struct(be, 'inode').size).toBe(624);
    expect(member(be, 'task_struct', 'sched_reset_on_fork')).toMatchObject({ bitOffset: 14752, bitfieldSize: 1 });
    expect(member(le, 'task_struct', 'sched_reset_on_fork')).toMatchObject({ bitOffset: 18848, bitfieldSize: 1 });
  }, SLOW);

  it('decodes functions, prototypes, variables, sections and tags (amd64 6.12 / 7.2)', () => {
    const b = btf('amd64-6.12.107.btf.xz');
    const fn = b.findByName('vfs_read', 'FUNC');
    expect(fn).toMatchObject({ kindName: 'FUNC', linkage: 'static' });
    const proto = fn?.kindName === 'FUNC' ? b.typeById(fn.type) : undefined;
    if (proto?.kindName !== 'FUNC_PROTO') throw new Error('vfs_read has no FUNC_PROTO');
    expect(proto.params.map((p) => p.name)).toEqual(['file', 'buf', 'count', 'pos']);
    expect(proto.variadic).toBe(false);
    expect(b.typeById(proto.returnType)).toMatchObject({ kindName: 'TYPEDEF', name: 'ssize_t' });
    expect(b.resolveSize(proto.returnType)).toBe(8);
    expect(() => b.resolveSize(proto.id)).toThrow(BtfFormatError);   // a FUNC_PROTO has no size
    const printk = b.findByName('_printk', 'FUNC');
    const printkProto = printk?.kindName === 'FUNC' ? b.typeById(printk.type) : undefined;
    expect(printkProto).toMatchObject({ kindName: 'FUNC_PROTO', variadic: true });

    const rq = b.findByName('runqueues', 'VAR');
    expect(rq).toMatchObject({ kindName: 'VAR', linkage: 'global' });
    const percpu = b.findByName('.data..percpu', 'DATASEC');
    if (percpu?.kindName !== 'DATASEC') throw new Error('no .data..percpu');
    const sec = percpu.vars.find((v) => v.type === rq?.id);
    expect(sec).toEqual({ type: rq?.id, offset: 221248, size: 3456 });
    expect(b.resolveSize(rq!.id)).toBe(3456);

    const kfuncTags = b.findAllByName('bpf_kfunc', 'DECL_TAG');
    expect(kfuncTags.length).toBeGreaterThan(20);
    for (const t of kfuncTags) {
      expect(t).toMatchObject({ componentIdx: -1 });
      if (t.kindName === 'DECL_TAG') expect(b.typeById(t.type).kindName).toBe('FUNC');
    }
    expect(b.findByName('double')).toMatchObject({ kindName: 'FLOAT', size: 8 });
    expect(b.findByName('_Bool')).toMatchObject({ kindName: 'INT', bool: true, size: 1 });
    expect(b.findByName('char', 'INT')).toMatchObject({ encoding: 0, char: false, signed: false, bits: 8 });

    const b72 = btf('amd64-7.2.13.btf.xz');
    const tag = b72.findByName('address_space(1)');
    expect(tag).toMatchObject({ kindName: 'TYPE_TAG', attribute: true, type: 0 });
    const kinds = new Set<string>();
    for (const t of b72.types()) kinds.add(t.kindName);
    expect(kinds.size).toBe(19);                     // every BTF kind but UNKN occurs in 7.2
    expect(b72.typeById(0)).toMatchObject({ id: 0, kindName: 'UNKN', name: '' });
    expect(() => b72.typeById(b72.lastId + 1)).toThrow(RangeError);
  }, SLOW);
});

describe('split BTF (ext4.ko on the 6.1 amd64 vmlinux)', () => {
  const modFile = 'amd64-6.1.176.mod-ext4.btf.xz';

  it('continues type ids and string offsets after the base and resolves base types', () => {
    expect(entry(modFile).base).toBe('amd64-6.1.176.btf.xz');
    const base = btf('amd64-6.1.176.btf.xz'), mod = btf(modFile);
    expect(mod.base).toBe(base);
    expect(base.lastId).toBe(100642);
    expect(mod.startId).toBe(100643);
    expect(mod.startStrOff).toBe(base.header.strLen);
    const info = struct(mod, 'ext4_inode_info');
    expect(info.id).toBe(100753);
    expect(info.size).toBe(1184);
    expect(info.nameOff).toBeGreaterThanOrEqual(base.header.strLen);
    const vfsInode = info.members.find((m) => m.name === 'vfs_inode');
    expect(vfsInode).toBeDefined();
    expect(vfsInode!.type).toBeLessThanOrEqual(base.lastId);     // struct inode lives in vmlinux
    const inode = mod.typeById(vfsInode!.type);
    expect(inode).toBe(base.typeById(vfsInode!.type));
    expect(inode).toMatchObject({ kindName: 'STRUCT', name: 'inode', size: 632 });
    expect(mod.resolveSize(info.id)).toBe(1184);
    // a name search sees the base first, then the module
    expect(mod.findByName('task_struct', 'STRUCT')?.id).toBe(struct(base, 'task_struct').id);
    expect(mod.findByName('ext4_inode_info', 'STRUCT')?.id).toBe(info.id);
    expect(base.findByName('ext4_inode_info')).toBeUndefined();
    expect(mod.typeById(mod.startId)).toMatchObject({ id: 100643, kindName: 'TYPEDEF', name: 'tid_t' });
  }, SLOW);

  it('cannot be parsed without its base', () => {
    expect(() => parseBtf(blob(modFile))).toThrow(BtfFormatError);
  });
});

describe('corrupt input', () => {
  // the small split blob keeps these fast; its base is needed to parse it at all
  const good = () => blob('amd64-6.1.176.mod-ext4.btf.xz').slice();
  const base = () => btf('amd64-6.1.176.btf.xz');
  const expectFormatError = (data: Uint8Array, message: RegExp, b?: Btf) => {
    let err: unknown;
    try { parseBtf(data, { base: b }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(BtfFormatError);
    expect(err).toBeInstanceOf(ObjectFormatError);
    expect((err as Error).name).toBe('BtfFormatError');
    expect((err as Error).message).toMatch(message);
  };

  it('the untouched blob parses', () => {
    expect(parseBtf(good(), { base: base() }).typeCount).toBe(2927);
  });

  it('rejects truncated blobs', () => {
    expectFormatError(good().subarray(0, 10), /truncated: 10 bytes/);
    expectFormatError(good().subarray(0, 1000), /truncated/);
    const full = good();
    expectFormatError(full.subarray(0, full.length - 1), /truncated/, base());
    expectFormatError(new Uint8Array(0), /truncated/);
  });

  it('rejects a bad magic', () => {
    const d = good();
    d[0] = 0x7f; d[1] = 0x45;
    expectFormatError(d, /bad BTF magic 0x457f/);
  });

  it('rejects a bad version, header length, kind, type reference and string offset', () => {
    const b = base();
    let d = good(); d[2] = 2;
    expectFormatError(d, /unsupported BTF version 2/, b);
    d = good(); new DataView(d.buffer).setUint32(4, 12, true);
    expectFormatError(d, /hdr_len 12/, b);
    const typesAt = 24 + new DataView(good().buffer).getUint32(8, true);
    d = good(); d[typesAt + 7] = 0x1f;              // kind 31 in the info word of type 1
    expectFormatError(d, /type \[100643\] has invalid kind 31/, b);
    d = good(); new DataView(d.buffer).setUint32(typesAt + 8, 0x7ffff, true); // tid_t -> [524287]
    expectFormatError(d, /refers to type \[524287\]/, b);
    d = good(); new DataView(d.buffer).setUint32(typesAt, 0x7fffffff, true); // name_off
    expectFormatError(d, /name offset 2147483647 is outside the string section/, b);
  });

  it('rejects trailing bytes and a wrong-endian base', () => {
    const full = good();
    const longer = new Uint8Array(full.length + 4);
    longer.set(full);
    expectFormatError(longer, /4 unexpected bytes after the BTF sections/, base());
    expectFormatError(good(), /big-endian/, btf('s390x-6.12.107.btf.xz'));
  });
});

// ------------------------------------------------------------- synthetic BTF, all kinds
/** A raw BTF blob from type records given as u32 words; `str(x)` interns a name. */
function buildBtf(le: boolean, build: (str: (s: string) => number) => number[][], hdrLen = 24): Uint8Array {
  const strs: string[] = [''];
  const offs = new Map<string, number>([['', 0]]);
  let strLen = 1;
  const str = (x: string): number => {
    if (!offs.has(x)) { offs.set(x, strLen); strs.push(x); strLen += Buffer.byteLength(x) + 1; }
    return offs.get(x)!;
  };
  const words = build(str).flat();
  const out = new Uint8Array(hdrLen + words.length * 4 + strLen);
  const v = new DataView(out.buffer);
  v.setUint16(0, 0xeb9f, le); out[2] = 1;
  v.setUint32(4, hdrLen, le); v.setUint32(8, 0, le); v.setUint32(12, words.length * 4, le);
  v.setUint32(16, words.length * 4, le); v.setUint32(20, strLen, le);
  words.forEach((w, i) => v.setUint32(hdrLen + 4 * i, w >>> 0, le));
  out.set(Buffer.from(strs.join('\0') + '\0'), hdrLen + words.length * 4);
  return out;
}
const info = (kind: number, vlen: number, kflag = false) => ((kflag ? 1 << 31 : 0) | (kind << 24) | vlen) >>> 0;
const synthetic = (le: boolean, hdrLen?: number) => buildBtf(le, (n) => [
  /* 1 */ [n('int'), info(1, 0), 4, (1 << 24) | 32],
  /* 2 */ [n('big'), info(19, 2, true), 8, n('NEG'), 0xfffffffe, 0xffffffff, n('POS'), 0x23456789, 1],
  /* 3 */ [0, info(13, 2), 1, n('a'), 1, 0, 0],
  /* 4 */ [n('f'), info(12, 1), 3],
  /* 5 */ [n('v'), info(14, 0), 1, 2],
  /* 6 */ [n('.bss'), info(15, 1), 4, 5, 0, 4],
  /* 7 */ [n('s'), info(4, 2, true), 8, n('x'), 1, (3 << 24) | 5, n('y'), 8, 32],
  /* 8 */ [n('u'), info(8, 0), 9],
  /* 9 */ [0, info(10, 0), 1],
  /* 10 */ [n('tag'), info(17, 0), 7, 1],
  /* 11 */ [n('tt'), info(18, 0), 1],
  /* 12 */ [0, info(3, 0), 0, 8, 1, 3],
  /* 13 */ [n('fw'), info(7, 0, true), 0],
  /* 14 */ [n('float'), info(16, 0), 4],
  /* 15 */ [n('e'), info(6, 1), 4, n('E'), 0xffffffff],
  /* 16 */ [0, info(2, 0), 7],
  /* 17 */ [0, info(9, 0), 16],
  /* 18 */ [0, info(11, 0), 17],
  /* 19 */ [n('un'), info(5, 1), 4, n('z'), 1, 0],
], hdrLen);

describe('synthetic BTF with every kind', () => {
  it('decodes the same in both byte orders', () => {
    const le = parseBtf(synthetic(true)), be = parseBtf(synthetic(false));
    expect(be.endianness).toBe('big');
    expect(le.typeCount).toBe(19);
    expect([...be.types()]).toEqual([...le.types()]);
    expect(new Set([...le.types()].map((t) => t.kind)).size).toBe(19);
  });

  it('decodes each kind', () => {
    const b = parseBtf(synthetic(false, 32));          // big-endian, hdr_len 32 (zero tail)
    expect(b.typeById(1)).toMatchObject({ kindName: 'INT', name: 'int', size: 4, signed: true, bits: 32, bitOffset: 0 });
    expect(b.typeById(2)).toMatchObject({ kindName: 'ENUM64', name: 'big', signed: true, size: 8,
      values: [{ name: 'NEG', value: -2n }, { name: 'POS', value: 0x123456789n }] });
    expect(b.typeById(3)).toMatchObject({ kindName: 'FUNC_PROTO', returnType: 1, variadic: true, vlen: 2,
      params: [{ name: 'a', type: 1 }] });
    expect(b.typeById(4)).toMatchObject({ kindName: 'FUNC', name: 'f', type: 3, linkage: 'global' });
    expect(b.typeById(5)).toMatchObject({ kindName: 'VAR', name: 'v', type: 1, linkage: 'extern' });
    expect(b.typeById(6)).toMatchObject({ kindName: 'DATASEC', name: '.bss', size: 4, vars: [{ type: 5, offset: 0, size: 4 }] });
    expect(b.typeById(7)).toMatchObject({ kindName: 'STRUCT', name: 's', size: 8, kflag: true, members: [
      { name: 'x', type: 1, bitOffset: 5, bitfieldSize: 3 }, { name: 'y', type: 8, bitOffset: 32, bitfieldSize: 0 }] });
    expect(b.typeById(10)).toMatchObject({ kindName: 'DECL_TAG', name: 'tag', type: 7, componentIdx: 1, attribute: false });
    expect(b.typeById(11)).toMatchObject({ kindName: 'TYPE_TAG', name: 'tt', type: 1, attribute: false });
    expect(b.typeById(12)).toMatchObject({ kindName: 'ARRAY', elemType: 8, indexType: 1, nelems: 3 });
    expect(b.typeById(13)).toMatchObject({ kindName: 'FWD', name: 'fw', fwdKind: 'union' });
    expect(b.typeById(14)).toMatchObject({ kindName: 'FLOAT', name: 'float', size: 4 });
    expect(b.typeById(15)).toMatchObject({ kindName: 'ENUM', signed: false, values: [{ name: 'E', value: 4294967295 }] });
    expect(b.typeById(19)).toMatchObject({ kindName: 'UNION', name: 'un', size: 4, members: [{ name: 'z', type: 1 }] });
    expect(b.resolveType(8)).toBe(1);                  // typedef -> const -> int
    expect(b.resolveSize(12)).toBe(12);                // u[3], u = const int
    expect(b.resolveSize(18)).toBe(8);                 // restrict volatile pointer (no `long`: 8)
    expect(b.resolveSize(5)).toBe(4);                  // a VAR has its type's size
    for (const id of [0, 3, 4, 10, 13]) expect(() => b.resolveSize(id)).toThrow(BtfFormatError);
    expect(b.findByName('s', 'STRUCT')?.id).toBe(7);
    expect(b.findByName('s', BTF_KIND_INT)).toBeUndefined();
    expect(b.strAt(b.typeById(7).nameOff)).toBe('s');
  });

  it('rejects a bad name or type id in the entries of each kind, and an INT of a bad size or bit width, at its byte offset', () => {
    // words per record of synthetic(): where each record starts
    const words = [4, 9, 7, 3, 4, 6, 9, 3, 3, 4, 3, 6, 3, 3, 5, 3, 3, 3, 6];
    const at = (id: number, word: number) => 24 + 4 * (words.slice(0, id - 1).reduce((a, b) => a + b, 0) + word);
    const cases: [id: number, word: number, value: number, message: RegExp][] = [
      [1, 2, 3, /\[1\] INT: invalid size 3$/],
      [1, 3, (1 << 24) | 33, /\[1\] INT: invalid bits 33 at offset 0 for size 4$/],
      [2, 6, 0x7fffffff, /\[2\] ENUM64: name offset 2147483647 is outside the string section$/], // the second enumerator
      [3, 2, 999, /\[3\] FUNC_PROTO: refers to type \[999\], the last is \[19\]$/],           // the return type
      [3, 3, 0x7fffffff, /\[3\] FUNC_PROTO: name offset 2147483647/],                         // a parameter's name
      [3, 4, 999, /\[3\] FUNC_PROTO: refers to type \[999\]/],                                // a parameter's type
      [6, 3, 999, /\[6\] DATASEC: refers to type \[999\]/],
      [7, 6, 0x7fffffff, /\[7\] STRUCT: name offset 2147483647/],                             // the second member's name
      [7, 7, 999, /\[7\] STRUCT: refers to type \[999\]/],
      [12, 4, 999, /\[12\] ARRAY: refers to type \[999\]/],                                   // the index type
      [15, 3, 0x7fffffff, /\[15\] ENUM: name offset 2147483647/],
      [19, 4, 999, /\[19\] UNION: refers to type \[999\]/],
    ];
    for (const [id, word, value, message] of cases) {
      const d = synthetic(true);
      new DataView(d.buffer).setUint32(at(id, word), value, true);
      let err: unknown;
      try { parseBtf(d); } catch (e) { err = e; }
      expect(err, `type ${id} word ${word}`).toBeInstanceOf(BtfFormatError);
      expect((err as BtfFormatError).message).toMatch(message);
      expect((err as BtfFormatError).details).toMatchObject({ offset: at(id, word), typeId: id });
    }
    // the record's own name is checked before its entries
    const d = synthetic(true);
    new DataView(d.buffer).setUint32(at(7, 0), 0x7fffffff, true);
    new DataView(d.buffer).setUint32(at(7, 4), 999, true);
    expect(() => parseBtf(d)).toThrow(/\[7\] STRUCT: name offset 2147483647/);
  });

  it('finds every type of a name in id order, and an enum by one of its enumerators', () => {
    const b = parseBtf(buildBtf(true, (n) => [
      /* 1 */ [n('a'), info(1, 0), 4, 32],
      /* 2 */ [n('b'), info(1, 0), 4, 32],
      /* 3 */ [n('a'), info(8, 0), 1],
      /* 4 */ [n('e'), info(6, 2), 4, n('X'), 0, n('Y'), 1],
      /* 5 */ [n('a'), info(6, 1), 4, n('Y'), 2],
      /* 6 */ [n('f'), info(19, 1), 8, n('Z'), 3, 0],
    ]));
    expect(b.findAllByName('a').map((t) => t.id)).toEqual([1, 3, 5]);
    expect(b.findAllByName('a', 'ENUM').map((t) => t.id)).toEqual([5]);
    expect(b.findAllByName('c')).toEqual([]);
    expect(b.findEnumByEnumerator('Y')?.id).toBe(4); // the first enum that has it
    expect(b.findEnumByEnumerator('Z')).toMatchObject({ id: 6, kindName: 'ENUM64' });
    expect(b.findEnumByEnumerator('X')?.values.map((v) => v.name)).toEqual(['X', 'Y']);
    expect(b.findEnumByEnumerator('a')).toBeUndefined(); // a type's name, not an enumerator
    expect(b.findEnumByEnumerator('')).toBeUndefined();
  });

  it('rejects a non-zero header tail and reference loops', () => {
    const d = synthetic(true, 32);
    d[30] = 1;
    expect(() => parseBtf(d)).toThrow(/non-zero BTF header field at byte 30/);
    const loop = parseBtf(buildBtf(true, (n) => [[n('a'), info(8, 0), 2], [n('b'), info(8, 0), 1]]));
    expect(() => loop.resolveSize(1)).toThrow(BtfFormatError);
    expect(() => loop.resolveType(1)).toThrow(/too deep or loops/);
  });
});

// ------------------------------------------------------------- cross-check with bpftool
const bpftool = ['/usr/sbin/bpftool', '/usr/bin/bpftool', '/sbin/bpftool'].find((p) => existsSync(p));

/** One type as `bpftool btf dump file X format raw` (bpftool 7.x) prints it. */
function bpftoolRaw(b: Btf, t: BtfType): string {
  const q = (s: string) => `'${s === '' ? '(anon)' : s}'`;
  let s = `[${t.id}] ${t.kindName} ${q(t.name)}`;
  switch (t.kindName) {
    case 'INT': {
      const enc = ({ 0: '(none)', 1: 'SIGNED', 2: 'CHAR', 4: 'BOOL' } as Record<number, string>)[t.encoding] ?? 'UNKN';
      return `${s} size=${t.size} bits_offset=${t.bitOffset} nr_bits=${t.bits} encoding=${enc}`;
    }
    case 'PTR': case 'CONST': case 'VOLATILE': case 'RESTRICT': case 'TYPEDEF': case 'TYPE_TAG':
      return `${s} type_id=${t.type}`;
    case 'ARRAY': return `${s} type_id=${t.elemType} index_type_id=${t.indexType} nr_elems=${t.nelems}`;
    case 'STRUCT': case 'UNION':
      s += ` size=${t.size} vlen=${t.vlen}`;
      for (const m of t.members) {
        s += `\n\t${q(m.name)} type_id=${m.type} bits_offset=${m.bitOffset}${m.bitfieldSize ? ` bitfield_size=${m.bitfieldSize}` : ''}`;
      }
      return s;
    case 'ENUM': case 'ENUM64':
      s += ` encoding=${t.signed ? 'SIGNED' : 'UNSIGNED'} size=${t.size} vlen=${t.vlen}`;
      for (const v of t.values) s += `\n\t${q(v.name)} val=${v.value}${t.kindName === 'ENUM64' ? (t.signed ? 'LL' : 'ULL') : ''}`;
      return s;
    case 'FWD': return `${s} fwd_kind=${t.fwdKind}`;
    case 'FUNC': return `${s} type_id=${t.type} linkage=${t.linkage}`;
    case 'FUNC_PROTO':
      s += ` ret_type_id=${t.returnType} vlen=${t.vlen}`;
      for (const p of t.params) s += `\n\t${q(p.name)} type_id=${p.type}`;
      return t.variadic ? `${s}\n\t'(anon)' type_id=0` : s;
    case 'VAR': return `${s} type_id=${t.type}, linkage=${t.linkage}`;
    case 'DATASEC':
      s += ` size=${t.size} vlen=${t.vlen}`;
      for (const v of t.vars) {
        const vt = b.typeById(v.type);
        s += `\n\ttype_id=${v.type} offset=${v.offset} size=${v.size} (${vt.kindName} ${q(vt.name)})`;
      }
      return s;
    case 'FLOAT': return `${s} size=${t.size}`;
    case 'DECL_TAG': return `${s} type_id=${t.type} component_idx=${t.componentIdx}`;
    default: return s;
  }
}

describe.skipIf(!bpftool)(`every type matches bpftool's raw dump${bpftool ? '' : ' (skipped: bpftool not installed)'}`, () => {
  it.each(['s390x-6.12.107.btf.xz', 'amd64-7.2.13.btf.xz', 'arm64-5.10.223.btf.xz', 'amd64-6.1.176.mod-ext4.btf.xz'])(
    '%s', (file) => {
      const e = entry(file), b = btf(file);
      const tmp = mkdtempSync(join(tmpdir(), 'corebpf-btf-'));
      let ref: string;
      try {
        const write = (name: string, data: Uint8Array) => { writeFileSync(join(tmp, name), data); return join(tmp, name); };
        const args = e.base ? ['-B', write('base.btf', blob(e.base))] : [];
        const path = write('blob.btf', blob(file));
        ref = execFileSync(bpftool!, [...args, 'btf', 'dump', 'file', path, 'format', 'raw'], { maxBuffer: 256 << 20 }).toString();
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
      const mine: string[] = [];
      for (const t of b.types()) mine.push(bpftoolRaw(b, t));
      const refLines = ref.trimEnd().split('\n'), mineLines = mine.join('\n').split('\n');
      const firstDiff = refLines.findIndex((l, i) => l !== mineLines[i]);
      expect(firstDiff === -1 ? null : { line: firstDiff + 1, bpftool: refLines[firstDiff], reader: mineLines[firstDiff] }).toBeNull();
      expect(mineLines.length).toBe(refLines.length);
    },
    SLOW,
  );
});
