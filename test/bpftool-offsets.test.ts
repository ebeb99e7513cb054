// Expected CO-RE field relocations for every kernel BTF fixture, computed from bpftool's
// raw dump (Debian's bpftool: an independent BTF reader) instead of our own reader: byte
// offsets and sizes, signedness, and the bitfield shifts, for both byte orders (the
// big-endian fixtures with the objects built for bpfeb). The formulas are libbpf's
// (relo_core.c bpf_core_calc_field_relo), with the left shift for the TARGET's byte order:
// a program on a big-endian kernel reads the bitfield's bytes into the low-order end of
// a u64 (bpf_core_read.h), so the shift that isolates it differs.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RelocationError, Relocator, type RelocationRecord } from '../dist/index.js';
import { PROGS, fixtureBytes, fixtures } from './helpers.js';

const BPFTOOL = ['/usr/sbin/bpftool', '/usr/bin/bpftool', '/sbin/bpftool'].find((p) => existsSync(p));
const OBJECTS = ['bench_tasks', 'btf_tracing', 'core_basic', 'tcp_connect', 'execsnoop', 'core_flavors', 'subprogs', 'uprobe'];
const FIELD_KINDS = new Set(['field_byte_offset', 'field_byte_size', 'field_signed', 'field_lshift_u64', 'field_rshift_u64', 'field_exists']);

interface Member { name: string; type: number; bits: number; bitfield: number }
interface T { id: number; kind: string; name: string; size?: number; type?: number; nelems?: number; members?: Member[]; signed?: boolean }

/** bpftool's `btf dump ... format raw` text, as types by id */
function parseRaw(text: string): Map<number, T> {
  const types = new Map<number, T>();
  let cur: T | null = null;
  for (const line of text.split('\n')) {
    const head = /^\[(\d+)\] (\w+) '([^']*)'(.*)$/.exec(line);
    if (head) {
      const rest = head[4]!;
      const num = (k: string) => { const m = new RegExp(`\\b${k}=(\\d+)`).exec(rest); return m ? Number(m[1]) : undefined; };
      cur = { id: Number(head[1]), kind: head[2]!, name: head[3] === '(anon)' ? '' : head[3]!, size: num('size'), type: num('type_id'), nelems: num('nr_elems') };
      if (cur.kind === 'INT') cur.signed = /encoding=SIGNED/.test(rest);
      if (cur.kind === 'ENUM' || cur.kind === 'ENUM64') cur.signed = /encoding=SIGNED/.test(rest);
      if (cur.kind === 'STRUCT' || cur.kind === 'UNION') cur.members = [];
      types.set(cur.id, cur);
      continue;
    }
    const mem = /^\t'([^']*)' type_id=(\d+) bits_offset=(\d+)(?: bitfield_size=(\d+))?/.exec(line);
    if (mem && cur?.members) cur.members.push({ name: mem[1] === '(anon)' ? '' : mem[1]!, type: Number(mem[2]), bits: Number(mem[3]), bitfield: Number(mem[4] ?? 0) });
  }
  return types;
}

class RawBtf {
  constructor(readonly types: Map<number, T>, readonly bigEndian: boolean) {}
  resolve(id: number): T {
    let t = this.types.get(id)!;
    while (t && ['TYPEDEF', 'CONST', 'VOLATILE', 'RESTRICT', 'TYPE_TAG'].includes(t.kind)) t = this.types.get(t.type!)!;
    return t;
  }
  sizeOf(id: number): number {
    const t = this.resolve(id);
    if (t.kind === 'PTR') return 8;
    if (t.kind === 'ARRAY') return t.nelems! * this.sizeOf(t.type!);
    return t.size!;
  }
  /** a named field, looking through anonymous struct/union members as libbpf does */
  field(structId: number, name: string, base: number): { m: Member; bits: number } | null {
    const s = this.resolve(structId);
    for (const m of s.members ?? []) {
      if (m.name === name) return { m, bits: base + m.bits };
      if (m.name === '') {
        const inner = this.resolve(m.type);
        if (inner.members) {
          const f = this.field(inner.id, name, base + m.bits);
          if (f) return f;
        }
      }
    }
    return null;
  }
}

const essential = (n: string) => n.replace(/___.*$/, '');

/** libbpf's value for a field relocation, or null when the access path does not resolve */
function expected(btf: RawBtf, r: RelocationRecord): bigint | null {
  const [kw, rootName] = r.type.split(' ') as [string, string];
  const kind = kw === 'union' ? 'UNION' : 'STRUCT';
  const path = r.access.split('.').slice(1);
  const values = new Set<string>();
  for (const root of btf.types.values()) {
    if (root.kind !== kind || root.name !== essential(rootName)) continue;
    let id = root.id;
    let bits = 0;
    let last: Member | null = null;
    let ok = true;
    for (const step of path) {
      const m = /^([^[]+)((?:\[\d+\])*)$/.exec(step);
      if (!m) { ok = false; break; }
      const f = btf.field(id, essential(m[1]!), bits);
      if (!f) { ok = false; break; }
      bits = f.bits;
      last = f.m;
      id = f.m.type;
      for (const ix of m[2]!.matchAll(/\[(\d+)\]/g)) {
        const arr = btf.resolve(id);
        if (arr.kind !== 'ARRAY') { ok = false; break; }
        bits += Number(ix[1]) * btf.sizeOf(arr.type!) * 8;
        id = arr.type!;
        last = null;
      }
      if (!ok) break;
    }
    if (!ok) continue;
    if (r.kind === 'field_exists') { values.add('1'); continue; }
    const mt = btf.resolve(id);
    const bitSzField = last?.bitfield ?? 0;
    let byteSz: number;
    let byteOff: number;
    let bitSz: number;
    if (!bitSzField) {
      byteSz = btf.sizeOf(id);
      byteOff = Math.floor(bits / 8);
      bitSz = byteSz * 8;
    } else {
      bitSz = bitSzField;
      byteSz = mt.size!;
      byteOff = Math.floor(bits / 8 / byteSz) * byteSz;
      while (bits + bitSz - byteOff * 8 > byteSz * 8) {
        byteSz *= 2;
        byteOff = Math.floor(bits / 8 / byteSz) * byteSz;
      }
    }
    let v: number;
    switch (r.kind) {
      case 'field_byte_offset': v = byteOff; break;
      case 'field_byte_size': v = byteSz; break;
      case 'field_signed': v = mt.signed ? 1 : 0; break;
      case 'field_lshift_u64': v = btf.bigEndian ? (8 - byteSz) * 8 + (bits - byteOff * 8) : 64 - (bits + bitSz - byteOff * 8); break;
      case 'field_rshift_u64': v = 64 - bitSz; break;
      default: throw new Error(r.kind);
    }
    values.add(String(v));
  }
  if (values.size !== 1) return null;
  return BigInt([...values][0]!);
}

const relocator = new Relocator({ size: 1 });
afterAll(() => relocator.close());
const kernels = fixtures().filter((f) => !f.base);

describe.skipIf(!BPFTOOL)(`CO-RE field values against bpftool's reading of each fixture${BPFTOOL ? '' : ' (skipped: bpftool not installed; apt-get install bpftool)'}`, () => {
  const tally = { checked: 0, bitfield: 0, bigEndian: 0 };
  afterAll(() => console.log(`[bpftool-offsets] ${tally.checked} relocations checked (${tally.bitfield} bitfield shifts, ${tally.bigEndian} on big-endian kernels) over ${kernels.length} kernels`));

  it.each(kernels.map((f) => [f.file, f] as const))('%s', async (file, f) => {
    const bytes = fixtureBytes(file);
    const tmp = mkdtempSync(join(tmpdir(), 'corebpf-bpftool-'));
    let raw: string;
    try {
      writeFileSync(join(tmp, 'k.btf'), bytes);
      raw = execFileSync(BPFTOOL!, ['btf', 'dump', 'file', join(tmp, 'k.btf'), 'format', 'raw'], { maxBuffer: 1 << 29 }).toString();
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    const big = f.endianness === 'big';
    const btf = new RawBtf(parseRaw(raw), big);
    let checked = 0;
    for (const name of OBJECTS) {
      const path = `${PROGS}/${name}.${big ? 'bpfeb' : 'bpf'}.o`;
      let rel: RelocationRecord[];
      try {
        rel = (await relocator.relocate(path, { btf: bytes, kernelRelease: f.kernelRelease })).relocations;
      } catch (e) {
        if (!(e instanceof RelocationError)) throw e;
        rel = e.relocations as RelocationRecord[];
      }
      for (const r of rel) {
        if (!FIELD_KINDS.has(r.kind)) continue;
        const want = expected(btf, r);
        const what = `${name} ${r.program} ${r.kind} ${r.type} ${r.access}`;
        if (want === null) {
          expect(r.status, `${what}: bpftool's BTF has no such field, yet it resolved to ${r.target}`).toBe(r.kind === 'field_exists' ? 'resolved' : 'failed');
          if (r.kind === 'field_exists') expect(r.target, what).toBe('0');
          continue;
        }
        expect(r.status, `${what}: ${r.reason}`).toBe('resolved');
        expect(r.target, what).toBe(String(want));
        checked++;
        if (r.kind === 'field_lshift_u64' || r.kind === 'field_rshift_u64') tally.bitfield++;
        if (big) tally.bigEndian++;
      }
    }
    expect(checked, 'relocations checked on this kernel').toBeGreaterThan(100);
    tally.checked += checked;
  }, 120_000);
});
