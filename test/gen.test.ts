// corebpf gen (src/gen, src/cli/gen.ts): the generated module is deterministic, has no
// 'any' and no casts, type-checks under tsc --strict (and rejects wrong uses), its types
// are what the BTF codec really decodes (checked value by value against the library), and
// on this kernel execsnoop loads through it and yields typed exec events.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BpfObject, Relocator } from '../dist/index.js';
import { parseBtf, type Btf } from '../src/btf/reader.js';
import { BTF_KIND_ENUM64, BTF_KIND_FLOAT, BTF_KIND_INT, BTF_KIND_PTR, BTF_KIND_STRUCT, BTF_KIND_TYPEDEF, BTF_KIND_UNION } from '../src/btf/kinds.js';
import { buildModel, type GenModel } from '../src/gen/model.js';
import { TsTypes } from '../src/gen/ts-types.js';
import { BtfCodec } from '../src/host/btf-codec.js';
import { planBytes } from '../src/plan.js';
import { needs } from './kernel.js';

const ROOT = new URL('../', import.meta.url).pathname;
const PROGS = `${ROOT}testdata/progs/`;
const CLI = `${ROOT}dist/cli.js`;
const FIXTURE = `${ROOT}testdata/btf/amd64-6.1.176.btf.xz`;
const relocator = new Relocator({ size: 1 });
const tmp = mkdtempSync(join(tmpdir(), 'corebpf-gen-'));
afterAll(() => {
  relocator.close();
  rmSync(tmp, { recursive: true, force: true });
});

function gen(args: string[]): string {
  return execFileSync(process.execPath, [CLI, 'gen', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

async function modelOf(name: string, types: string[] = []): Promise<GenModel> {
  const spec = await relocator.open(readFileSync(`${PROGS}${name}.bpf.o`), { objectName: name });
  return buildModel(spec, parseBtf(planBytes(spec.btf!)), 'X', types);
}

/** A generated TS type, parsed back: names, T[], Array<T>, { a: T; b: U }, Record<string, never>. */
type TsNode = { name: string } | { array: TsNode } | { object: Map<string, TsNode> };
function parseTs(text: string): TsNode {
  let i = 0;
  const ws = () => { while (/\s/.test(text[i] ?? '')) i++; };
  const eat = (s: string) => {
    ws();
    if (!text.startsWith(s, i)) throw new Error(`'${s}' expected at ${i} of ${text}`);
    i += s.length;
  };
  const type = (): TsNode => {
    ws();
    let node: TsNode;
    if (text.startsWith('Record<string, never>', i)) {
      i += 'Record<string, never>'.length;
      node = { object: new Map() };
    } else if (text.startsWith('Array<', i)) {
      i += 6;
      node = { array: type() };
      eat('>');
    } else if (text[i] === '{') {
      i++;
      const fields = new Map<string, TsNode>();
      for (ws(); text[i] !== '}'; ws()) {
        const name = /^"(?:[^"\\]|\\.)*"|^[A-Za-z_$][\w$]*/.exec(text.slice(i))![0];
        i += name.length;
        eat(':');
        fields.set(name.startsWith('"') ? JSON.parse(name) as string : name, type());
        ws();
        if (text[i] === ';') i++;
      }
      i++;
      node = { object: fields };
    } else {
      const name = /^[A-Za-z_$][\w$]*/.exec(text.slice(i))![0];
      i += name.length;
      node = { name };
    }
    while (text.startsWith('[]', i)) { i += 2; node = { array: node }; }
    return node;
  };
  const n = type();
  ws();
  if (i !== text.length) throw new Error(`trailing text at ${i} of ${text}`);
  return n;
}

/** Does a decoded value have the generated TS type? null when it does, else where not. */
function mismatch(v: unknown, t: string, m: Pick<GenModel, 'types'>, path = 'value'): string | null {
  return mismatchNode(v, parseTs(t), m, path);
}
function mismatchNode(v: unknown, t: TsNode, m: Pick<GenModel, 'types'>, path: string): string | null {
  if ('array' in t) {
    if (!Array.isArray(v)) return `${path}: not an array`;
    for (let i = 0; i < v.length; i++) {
      const bad = mismatchNode(v[i], t.array, m, `${path}[${i}]`);
      if (bad) return bad;
    }
    return null;
  }
  let fields: Map<string, TsNode>;
  if ('name' in t) {
    switch (t.name) {
      case 'number': case 'bigint': case 'boolean': case 'string':
        return typeof v === t.name ? null : `${path}: ${typeof v}, generated ${t.name}`;
      case 'Buffer':
        return Buffer.isBuffer(v) ? null : `${path}: not a Buffer`;
    }
    const d = m.types.declarations.find((x) => x.name === t.name);
    if (!d) throw new Error(`the checker does not know the type '${t.name}'`);
    fields = new Map([...d.fields].map(([k, ft]) => [k, parseTs(ft)]));
  } else {
    fields = t.object;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v) || Buffer.isBuffer(v)) return `${path}: not an object`;
  const keys = Object.keys(v).sort();
  const want = [...fields.keys()].sort();
  if (JSON.stringify(keys) !== JSON.stringify(want)) return `${path}: keys ${keys.join(',')}, generated ${want.join(',')}`;
  for (const [k, ft] of fields) {
    const bad = mismatchNode((v as Record<string, unknown>)[k], ft, m, `${path}.${k}`);
    if (bad) return bad;
  }
  return null;
}

describe('corebpf gen: the module', () => {
  it('is deterministic, embeds the object(s), has no any and no casts; --help is listed', () => {
    const a = gen([`${PROGS}execsnoop.bpf.o`, '--type', 'event']);
    const out = join(tmp, 'e.gen.ts');
    gen([`${PROGS}execsnoop.bpf.o`, '--type', 'event', '-o', out]);
    expect(readFileSync(out, 'utf8')).toBe(a); // byte-identical on a second run
    expect(a).not.toMatch(/\bany\b/);
    const code = a.split('\n').map((l) => l.replace(/\/\*\*.*?\*\/|\/\/.*$/, '')).join('\n'); // without comments
    expect(code.replace(/^import \* as \w+ from .*$/gm, '')).not.toMatch(/\bas\s+[A-Za-z{]|[=(,:]\s*<[A-Za-z]+>/); // no casts
    expect(a).toContain('export interface Event {\n  pid: number;\n  ppid: number;\n  uid: number;\n  comm: string;\n  filename: string;\n}');
    expect(a).toContain('readonly counts: corebpf.BpfMap<number, bigint>;');
    expect(a).toContain('readonly execs: corebpf.BpfMap<number, Event>;');
    expect(a).toContain('readonly scratch: corebpf.BpfMap<number, Event[]>;'); // per-CPU: one per CPU
    expect(a).toContain(`export type ExecsnoopRingbufName = 'events';`);
    // the embedded object is the file, byte for byte
    const b64 = /const OBJECT = \[\n([\s\S]*?)\n\]\.join/.exec(a)![1]!.split('\n').map((l) => l.trim().slice(1, -2)).join('');
    expect(Buffer.from(b64, 'base64').equals(readFileSync(`${PROGS}execsnoop.bpf.o`))).toBe(true);

    const g1 = gen([`${PROGS}global_data.bpf.o`, '--object-eb', `${PROGS}global_data.bpfeb.o`, '--name', 'Globals']);
    expect(gen([`${PROGS}global_data.bpf.o`, '--object-eb', `${PROGS}global_data.bpfeb.o`, '--name', 'Globals'])).toBe(g1);
    expect(g1).toContain(`os.endianness() === 'BE' ? OBJECT_BE : OBJECT`);
    expect(g1).toContain('export interface GlobalsRodata {\n  ro_limit: bigint;\n  ro_name: string;\n  ro_table: number[];\n  static_ro: number;\n}');
    expect(g1).toContain('export interface GlobalsRodataCfg {\n  cfg_mode: number;\n  cfg_name: string;\n}');
    expect(g1).toContain('data_struct: Pair;');

    const help = execFileSync(process.execPath, [CLI, 'help'], { encoding: 'utf8' });
    expect(help).toMatch(/^ {2}gen OBJECT -o prog\.gen\.ts/m);
    // the two byte orders swapped, and an unknown --type: refused with the reason, exit 2
    const swapped = spawnSync(process.execPath, [CLI, 'gen', `${PROGS}global_data.bpfeb.o`, '--object-eb', `${PROGS}global_data.bpf.o`], { encoding: 'utf8' });
    expect(swapped.status).toBe(2);
    expect(swapped.stderr).toMatch(/global_data\.bpfeb\.o is big-endian/);
    const noType = spawnSync(process.execPath, [CLI, 'gen', `${PROGS}execsnoop.bpf.o`, '--type', 'nosuch'], { encoding: 'utf8' });
    expect(noType.status).toBe(2);
    expect(noType.stderr).toMatch(/no struct, union or typedef 'nosuch'/);
  });

  it('type-checks under tsc --strict: an app importing only the generated modules compiles, wrong uses do not', () => {
    const dir = join(tmp, 'tsc');
    mkdirSync(dir);
    gen([`${PROGS}execsnoop.bpf.o`, '--type', 'event', '-o', join(dir, 'execsnoop.gen.ts')]);
    gen([`${PROGS}global_data.bpf.o`, '-o', join(dir, 'global_data.gen.ts')]);
    gen([`${PROGS}maps.bpf.o`, '--object-eb', `${PROGS}maps.bpfeb.o`, '--type', 'struct value', '-o', join(dir, 'maps.gen.ts')]);
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        target: 'ES2022', lib: ['ES2022'], module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true,
        noUnusedLocals: true, noUnusedParameters: true, skipLibCheck: true,
        // the strictest options a user may have on: the generated modules pass them too
        exactOptionalPropertyTypes: true, noPropertyAccessFromIndexSignature: true, noImplicitOverride: true,
        noImplicitReturns: true, noUncheckedIndexedAccess: true, verbatimModuleSyntax: true, isolatedModules: true,
        types: ['node'], typeRoots: [`${ROOT}node_modules/@types`],
        paths: { corebpf: [`${ROOT}dist/types/index.d.ts`] },
      },
      files: ['app.ts', 'wrong.ts'],
    }));
    writeFileSync(join(dir, 'app.ts'), `
import { Execsnoop, load, type Event } from './execsnoop.gen.js';
import { GlobalData, type Pair } from './global_data.gen.js';
import * as M from './maps.gen.js';

export async function main(): Promise<void> {
  const s = await Execsnoop.open({ rodata: { target_uid: 0, emit_failed: true } });
  s.rodata.target_uid = 1000;
  await s.load();
  const n: bigint | undefined = s.maps.counts.get(1000);
  s.maps.counts.set(1000, 5n).set(new Uint8Array(4), new Uint8Array(8));
  s.object.map('counts').set('untyped maps take anything', { checked: 'when encoded' }); // today's API unchanged
  for (const [uid, c] of s.maps.counts.entries()) { const u: number = uid; const cc: bigint = c; console.log(u, cc); }
  const ev: Event | undefined = s.maps.execs.get(1);
  const perCpu: Event[] | undefined = s.maps.scratch.get(0);
  await s.programs.tracepoint__syscalls__sys_enter_execve.attach();
  for await (const e of await s.ringbuf('events', 'event')) { const c: string = e.comm; const p: number = e.pid; console.log(c, p); }
  const only: Event[] = (await s.ringbuf('events')).drain(); // the one --type is the default
  console.log(only);
  console.log(n, ev, perCpu);
  s.close();
  const g = await GlobalData.open({ rodata: { ro_limit: 5n, cfg_name: 'x' }, bss: { bss_counter: 1n } });
  const t: number[] = g.rodata.ro_table;
  const pair: Pair = { first: 1, second: 2, tag: 'ab' };
  g.data.data_struct = pair;
  g.data_custom.custom_b = 3n;
  const ro: string = g.rodata_cfg.cfg_name;
  console.log(t, ro);
  const m = await M.load();
  const k: M.LpmKey | undefined = [...m.maps.lpm_trie.keys()][0];
  const v: M.Value | undefined = m.maps.hash_map.get(3);
  m.maps.hash_map.set(3, { count: 1n, bytes: 2n, comm: 'x' });
  m.maps.percpu_array.set(0, [1n, 2n]);
  const q: Buffer | undefined = m.maps.queue_map.pop();
  for await (const pe of await m.perfbuf('perf_events', 'struct value')) { const b: bigint = pe.data.bytes; console.log(b); }
  console.log(k, v, q);
  (await load()).close();
}
`);
    // each line marked WRONG must be an error, and nothing else may be
    const wrong = `
import { Execsnoop } from './execsnoop.gen.js';
import * as M from './maps.gen.js';
export async function wrong(): Promise<void> {
  const s = await Execsnoop.open({ rodata: { target_uid: 'x' } }); // WRONG: a string for a u32
  const c: number = s.rodata.emit_failed; // WRONG: bool is boolean
  s.maps.nope.get(1); // WRONG: no such map
  for await (const e of await s.ringbuf('events', 'event')) { const p: string = e.pid; console.log(p); } // WRONG: pid is a number
  await s.ringbuf('counts', 'event'); // WRONG: counts is no ring buffer
  const m = await M.open();
  const big: number | undefined = m.maps.percpu_array.get(0)?.[0]; // WRONG: u64 is bigint
  await m.perfbuf('perf_events', 'event'); // WRONG: not a --type of maps
  s.maps.counts.set('1000', 5n); // WRONG: the key is a u32
  s.maps.counts.set(1000, 5); // WRONG: the value is a u64 (bigint)
  m.maps.hash_map.set(3, { count: 1n, bytes: 2n }); // WRONG: comm missing
  console.log(c, big);
}
`;
    writeFileSync(join(dir, 'wrong.ts'), wrong);
    const r = spawnSync(process.execPath, [`${ROOT}node_modules/typescript/bin/tsc`, '-p', 'tsconfig.json'], { encoding: 'utf8', cwd: dir });
    const errors = r.stdout.split('\n').filter((l) => /error TS/.test(l));
    const lines = (file: string) => errors.filter((e) => e.startsWith(file)).map((e) => Number(/\((\d+),/.exec(e)![1]));
    const wrongLines = wrong.split('\n').flatMap((l, i) => (l.includes('// WRONG') ? [i + 1] : []));
    expect(errors.filter((e) => !e.startsWith('wrong.ts'))).toEqual([]); // the app and the generated modules
    expect([...new Set(lines('wrong.ts'))]).toEqual(wrongLines);
  }, 120_000);

  it('its types are what the codec decodes: globals, map keys and values (libbpf creating some maps without BTF), records', async (ctx) => {
    needs(ctx, 'xz');
    // relocated offline (libbpf creates the maps in the wasm, as it would in a kernel), not loaded
    const { plan } = await relocator.relocate(`${PROGS}maps.bpf.o`, { btf: FIXTURE });
    const maps = BpfObject.fromPlan(plan);
    const mm = await modelOf('maps');
    expect(mm.maps.map((x) => x.name)).toEqual(maps.maps.map((x) => x.name));
    const raw: string[] = [];
    for (const g of mm.maps) {
      const h = maps.map(g.name);
      if (!g.btf) raw.push(g.name);
      // the library decodes BTF-typed values exactly where the generated type says so
      expect(h.btfValueTypeId !== 0, g.name).toBe(g.btf);
      expect(mismatch(h.decodeKey(new Uint8Array(h.keySize)), g.key, mm, `${g.name} key`)).toBeNull();
      expect(mismatch(h.decodeValue(new Uint8Array(h.valueBufferSize)), g.value, mm, `${g.name} value`)).toBeNull();
    }
    // QUEUE, STACK, STACK_TRACE, PERF_EVENT_ARRAY: created without BTF (libbpf), as typed
    expect(raw.sort()).toEqual(['perf_events', 'queue_map', 'ringbuf', 'sized_hash', 'stack_map', 'stack_traces']);
    maps.close();

    const gd = BpfObject.fromPlan((await relocator.relocate(`${PROGS}global_data.bpf.o`, { btf: FIXTURE })).plan);
    const gm = await modelOf('global_data');
    let n = 0;
    for (const s of gm.sections) {
      for (const v of s.vars) {
        expect(mismatch(gd.getGlobal(v.name, s.section), v.type, gm, v.name)).toBeNull();
        n++;
      }
    }
    expect(n).toBe(gd.globals().length); // every global is in the module
    expect(gd.getGlobal('data_struct', '.data')).toEqual({ first: 1, second: 2, tag: 'init' });
    gd.close();

    const ex = BpfObject.fromPlan((await relocator.relocate(`${PROGS}execsnoop.bpf.o`, { btf: FIXTURE })).plan);
    const em = await modelOf('execsnoop', ['event']);
    const ev = Buffer.alloc(92);
    ev.writeUInt32LE(7, 0);
    ev.write('sh', 12);
    const decoded = ex.decoderFor('event')(ev);
    expect(mismatch(decoded, em.records[0]!.tsType, em)).toBeNull();
    expect(decoded).toMatchObject({ pid: 7, comm: 'sh', filename: '' });
    ex.close();
  }, 60_000);
});

/** For every struct, union and typedef of `btf` (up to `maxSize` bytes): the generated type
 *  matches the codec's decoding of zeros / a byte pattern; counts the shapes met. */
function checkAllTypes(btf: Btf, maxSize: number): Record<string, number> {
  const types = new TsTypes(btf);
  const codec = new BtfCodec(btf);
  const seen: Record<string, number> = { checked: 0, bitfield: 0, anonymous: 0, enum64: 0, pointer: 0, bool: 0, union: 0, float: 0 };
  for (let id = 1; id <= btf.lastId; id++) {
    const t = btf.typeById(id);
    if (t.kind !== BTF_KIND_STRUCT && t.kind !== BTF_KIND_UNION && t.kind !== BTF_KIND_TYPEDEF) continue;
    let size = 0;
    try {
      size = codec.sizeOf(id);
    } catch {
      continue; // typedefs of functions: no value
    }
    if (size === 0 || size > maxSize) continue;
    const bytes = new Uint8Array(size).fill(id % 2 ? 0 : 0x81); // zeros, or a pattern (bools are read as bytes)
    let v: unknown;
    try {
      v = codec.decode(id, bytes);
    } catch {
      continue; // not decodable (zero-size elements...): nothing to compare
    }
    expect(mismatch(v, types.typeOf(id), { types }, `${t.name} [${id}]`)).toBeNull();
    seen.checked!++;
    if (!('members' in t)) continue;
    if (t.members.some((m) => m.bitfieldSize > 0)) seen.bitfield!++;
    if (t.members.some((m) => !m.name)) seen.anonymous!++;
    if (t.kind === BTF_KIND_UNION) seen.union!++;
    for (const m of t.members) {
      const mt = codec.resolve(m.type);
      if (mt.kind === BTF_KIND_ENUM64) seen.enum64!++;
      if (mt.kind === BTF_KIND_PTR) seen.pointer!++;
      if (mt.kind === BTF_KIND_FLOAT) seen.float!++;
      if (mt.kind === BTF_KIND_INT && mt.bool) seen.bool!++;
    }
  }
  return seen;
}

describe('corebpf gen: TS types against the codec, type by type', () => {
  it('every struct, union and typedef of the 6.1 fixture kernel and of btf_newkinds.bpf.o', async (ctx) => {
    needs(ctx, 'xz');
    const kernel = checkAllTypes(parseBtf(new Uint8Array(execFileSync('xz', ['-dc', FIXTURE], { maxBuffer: 1 << 28 }))), 512);
    // the kernel's types have the shapes the rules distinguish
    expect(kernel.checked).toBeGreaterThan(3000);
    for (const k of ['bitfield', 'anonymous', 'pointer', 'bool', 'union']) expect(kernel[k], k).toBeGreaterThan(0);
    const spec = await relocator.open(readFileSync(`${PROGS}btf_newkinds.bpf.o`), { objectName: 'btf_newkinds' });
    const nk = checkAllTypes(parseBtf(planBytes(spec.btf!)), 4096);
    expect(nk.enum64).toBeGreaterThan(0);
    expect(nk.float).toBeGreaterThan(0);
  }, 120_000);
});

describe('corebpf gen on this kernel', () => {
  it('execsnoop through the generated module: load, attach, exec a child, a typed event with its pid, comm and filename', async (ctx) => {
    needs(ctx, 'bpf', 'btf', 'ringbuf');
    const dir = `${ROOT}build/gen-test`;
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `execsnoop-${process.pid}.gen.ts`);
    gen([`${PROGS}execsnoop.bpf.o`, '--type', 'event', '--import', `${ROOT}dist/index.js`, '-o', file]);
    const mod = await import(file);
    const skel = await mod.load({ relocator });
    try {
      expect(skel.loaded).toBe(true);
      expect(skel.rodata.target_uid).toBe(0);
      await skel.programs.tracepoint__syscalls__sys_enter_execve.attach();
      await skel.programs.tracepoint__syscalls__sys_exit_execve.attach();
      const rb = await skel.ringbuf('events', 'event');
      const before = skel.maps.counts.get(process.getuid!()) ?? 0n;
      const child = spawnSync('/bin/true');
      expect(child.status).toBe(0);
      const events = rb.drain();
      const ours = events.filter((e) => e.pid === child.pid);
      expect(ours).toHaveLength(1);
      expect(ours[0]).toEqual({ pid: child.pid, ppid: process.pid, uid: process.getuid!(), comm: 'true', filename: '/bin/true' });
      const after = skel.maps.counts.get(process.getuid!());
      expect(typeof after).toBe('bigint');
      expect(after! - before).toBeGreaterThanOrEqual(1n);
      rb.close();
    } finally {
      skel.close();
      rmSync(file, { force: true });
    }
  }, 60_000);
});
