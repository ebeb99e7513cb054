// The result protocol between the wasm glue and the worker (wasm/result-protocol.json): every
// entry point that returns a result (CB_EXPORT char *) writes the header of its kind, the C
// writer's header and the TypeScript decoder agree, and anything else -- no header, another
// version, another kind, a truncated or inconsistent header -- is a WasmProtocolError naming
// the export and saying to rebuild, never a JSON SyntaxError or a misread.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WasmProtocolError as DistWasmProtocolError, WorkerPool } from '../dist/index.js';
import { WasmProtocolError } from '../src/errors.js';
import { unmetNeeds } from '../src/analysis/needs.js';
import { kernelOffersFromBtf } from '../src/btf/kernel-features.js';
import { parseBtf } from '../src/btf/reader.js';
import { ElfFile } from '../src/host/uprobe.js';
import type { LoadPlan } from '../src/plan.js';
import {
  RESULT_KINDS, RESULT_KIND_AT, RESULT_PREFIX_LEN, RESULT_SIZE_AT, RESULT_VERSION, RESULT_VERSION_AT, type ResultKind,
} from '../src/worker/generated/result-protocol.js';
import { decodeResult, encodeResult, parsePart, resultSize, textPart, type ResultParts } from '../src/worker/result.js';
import { judgeReport, type GlueReport } from '../src/worker/run-result.js';
import { CorebpfWasm } from '../src/worker/wasm.js';
import { ROOT, TARGETS, fixtureBytes, nativeRun, obj, patchResultVersion } from './helpers.js';
import { exportsOf, returnsResult } from '../scripts/lib/cb-exports.mjs';

const enc = new TextEncoder();
const dec = new TextDecoder();
const KINDS = Object.keys(RESULT_KINDS) as ResultKind[];

function caught(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a throw');
}

async function nativeResult(name: string, target = `${TARGETS}/core_target.target.btf`): Promise<Uint8Array> {
  return enc.encode(await nativeRun(obj(name), target, ['--name', name]));
}

interface Spec { version: number; kinds: { kind: string; export: string; body: string; parts: { name: string }[] }[] }
const spec = JSON.parse(readFileSync(`${ROOT}wasm/result-protocol.json`, 'utf8')) as Spec;

describe('the result header', () => {
  it('the C header and the TypeScript constants are generated from wasm/result-protocol.json and current', () => {
    expect(spec.version).toBe(RESULT_VERSION);
    expect(RESULT_VERSION).toBeGreaterThanOrEqual(2); // kinds came with version 2
    expect(readFileSync(`${ROOT}wasm/cb_result.h`, 'utf8')).toContain(`#define CB_RESULT_VERSION ${spec.version}\n`);
    expect(KINDS).toEqual(spec.kinds.map((k) => k.kind));
    for (const k of spec.kinds) {
      const t = RESULT_KINDS[k.kind as ResultKind];
      expect(t.export).toBe(k.export);
      expect(t.parts).toEqual(k.parts.map((p) => p.name));
      expect(Object.keys(t.fields)).toEqual(k.parts.map((p) => p.name));
    }
    // what make result-protocol-check runs: exits 1 when either file is stale
    execFileSync(process.execPath, [`${ROOT}scripts/gen-result-protocol.mjs`, '--check']);
  });

  it('every CB_EXPORT returning a result (char *) is exactly one kind\'s export', () => {
    const exported = exportsOf(`${ROOT}wasm`) as { name: string; ret: string }[];
    const results = exported.filter(returnsResult).map((e) => e.name).sort();
    expect(results).toEqual(KINDS.map((k) => RESULT_KINDS[k].export).sort());
    expect(results).toEqual(expect.arrayContaining(['cb_run', 'cb_open', 'cb_btf_dump_c', 'cb_btfgen']));
    // const char * is the glue's own static text, not a result
    expect(exported.find((e) => e.name === 'cb_errno_name')?.ret).toBe('const char *');
  });

  describe('the generator refuses an export without a kind and a kind without its export', () => {
    let tree: string;
    beforeAll(() => {
      tree = mkdtempSync(`${tmpdir()}/corebpf-result-gen-`);
      mkdirSync(`${tree}/scripts/lib`, { recursive: true });
      mkdirSync(`${tree}/src/worker/generated`, { recursive: true });
      copyFileSync(`${ROOT}scripts/gen-result-protocol.mjs`, `${tree}/scripts/gen-result-protocol.mjs`);
      copyFileSync(`${ROOT}scripts/lib/cb-exports.mjs`, `${tree}/scripts/lib/cb-exports.mjs`);
    });
    afterAll(() => rmSync(tree, { recursive: true, force: true }));
    const gen = (edit: (dir: string) => void) => {
      rmSync(`${tree}/wasm`, { recursive: true, force: true });
      cpSync(`${ROOT}wasm`, `${tree}/wasm`, { recursive: true, filter: (f) => !/\/(libbpf|libelf|include|native)$/.test(f) });
      edit(`${tree}/wasm`);
      return spawnSync(process.execPath, [`${tree}/scripts/gen-result-protocol.mjs`], { encoding: 'utf8' });
    };

    it('the checkout as it is generates', () => {
      expect(gen(() => {}).status).toBe(0);
    });

    it('a new export returning char * with no kind', () => {
      const r = gen((d) => writeFileSync(`${d}/extra.c`, '#include "cb_export.h"\nCB_EXPORT char *cb_describe(void)\n{\n\treturn 0;\n}\n'));
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/wasm\/extra\.c: cb_describe\(\) returns a result \(char \*\) but is no kind's export/);
    });

    it('a kind whose export returns something else', () => {
      const r = gen((d) => writeFileSync(`${d}/btf_dump.c`, readFileSync(`${d}/btf_dump.c`, 'utf8').replace('CB_EXPORT char *cb_btf_dump_c(', 'CB_EXPORT void *cb_btf_dump_c(')));
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/kind 'btf-dump': cb_btf_dump_c\(\) \(wasm\/btf_dump\.c\) returns 'void \*', not a result/);
    });

    it('a kind whose export is gone', () => {
      const r = gen((d) => writeFileSync(`${d}/btfgen.c`, readFileSync(`${d}/btfgen.c`, 'utf8').replace('CB_EXPORT char *cb_btfgen(', 'static char *cb_btfgen(')));
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/kind 'btfgen': its export cb_btfgen\(\) is no CB_EXPORT function/);
    });
  });

  it('the glue writes a header the decoder reads, and its parts are the JSON texts', async () => {
    const bytes = await nativeResult('core_basic', obj('core_basic'));
    const text = dec.decode(bytes);
    const len = RESULT_KINDS.run.headerLength;
    const size = bytes.byteLength.toString(16).padStart(8, '0');
    expect(text.slice(0, len)).toMatch(new RegExp(`^corebpf-result ${RESULT_VERSION.toString(16).padStart(8, '0')} ${size} run {10}ok {22} report [0-9a-f]{8} [0-9a-f]{8} plan [0-9a-f]{8} [0-9a-f]{8} log [0-9a-f]{8} 00000002\\n$`));
    const r = decodeResult(bytes, 'run');
    expect(r.status).toBe('ok');
    expect(r.kind).toBe('run');
    const report = parsePart<{ error: null; stats: { relocations: number }; relocations: unknown[] }>(r.parts.report);
    expect(report.error).toBeNull();
    expect(report.stats.relocations).toBe(report.relocations.length);
    expect(report.relocations.length).toBeGreaterThan(0);
    expect(parsePart<{ format: string }>(r.parts.plan).format).toBe('corebpf-load-plan');
    expect(parsePart<string>(r.parts.log)).toBe('');
    // the body after the header is one JSON document of the parts
    expect(Object.keys(JSON.parse(text.slice(len)) as object)).toEqual(['report', 'plan', 'log']);
    // the TypeScript encoder lays the parts out exactly as the C writer does
    expect(Buffer.from(encodeResult('run', r.status, r.parts)).equals(Buffer.from(bytes))).toBe(true);
    expect(resultSize(bytes)).toBe(bytes.byteLength);
  });

  it('a failed run has the errno name as its status and a null plan', async () => {
    // libbpf cannot pick among core_ambiguous's candidates in its synthetic target: EINVAL
    const r = decodeResult(await nativeResult('core_ambiguous', `${TARGETS}/core_ambiguous.target.btf`), 'run');
    const report = parsePart<{ error: { errno: string } | null }>(r.parts.report);
    expect(report.error?.errno).toBe('EINVAL');
    expect(r.status).toBe('EINVAL');
    expect(parsePart(r.parts.plan)).toBeNull();
  });

  it('a result from before the protocol (no header) is a WasmProtocolError naming the export, saying to rebuild', () => {
    const e = caught(() => decodeResult(enc.encode('{"error":null,"stats":{},"relocations":[],"plan":null,"log":""}'), 'run'));
    expect(e).toBeInstanceOf(WasmProtocolError);
    expect(e.message).toMatch(/^cb_run\(\) of the wasm module gave a result without the 'corebpf-result' header.*rebuild.*make/);
    // the framing of version 1's btf dump: a string prefix
    const o = caught(() => decodeResult(enc.encode('O#ifndef __VMLINUX_H__\n'), 'btf-dump', 'the worker')) as WasmProtocolError;
    expect(o).toBeInstanceOf(WasmProtocolError);
    expect(o.message).toMatch(/^cb_btf_dump_c\(\) of the worker gave a result without the 'corebpf-result' header \(it starts "O#ifndef/);
    expect(o.details).toMatchObject({ code: 'wasm_protocol', export: 'cb_btf_dump_c', kind: 'btf-dump', got: null });
  });

  it('another version is a WasmProtocolError naming both versions', async () => {
    const bytes = await nativeResult('core_basic', obj('core_basic'));
    bytes.set(enc.encode((RESULT_VERSION + 1).toString(16).padStart(8, '0')), RESULT_VERSION_AT);
    const e = caught(() => decodeResult(bytes, 'run', 'the wasm module (dist/wasm)')) as WasmProtocolError;
    expect(e).toBeInstanceOf(WasmProtocolError);
    expect(e.message).toContain(`cb_run() of the wasm module (dist/wasm) speaks result protocol version ${RESULT_VERSION + 1}, this corebpf reads version ${RESULT_VERSION}`);
    expect(e.message).toMatch(/rebuild/);
    expect(e.details).toMatchObject({ code: 'wasm_protocol', expected: RESULT_VERSION, got: RESULT_VERSION + 1 });
    expect(resultSize(bytes)).toBe(-1);
  });

  it('a result of another kind is a WasmProtocolError naming the export and both kinds', async () => {
    const run = await nativeResult('core_basic', obj('core_basic'));
    for (const kind of KINDS.filter((k) => k !== 'run')) {
      const e = caught(() => decodeResult(run, kind)) as WasmProtocolError;
      expect(e, kind).toBeInstanceOf(WasmProtocolError);
      expect(e.message).toContain(`${RESULT_KINDS[kind].export}() of the wasm module gave a result of kind 'run', not '${kind}'`);
      expect(e.details).toMatchObject({ export: RESULT_KINDS[kind].export, kind, gotKind: 'run' });
    }
    // a kind that only starts like the one wanted
    const open = encodeResult('open', 'ok', { error: enc.encode('null'), object: enc.encode('{}'), log: enc.encode('""') });
    open.set(enc.encode('openx'), RESULT_KIND_AT);
    expect(caught(() => decodeResult(open, 'open')).message).toContain("gave a result of kind 'openx', not 'open'");
  });

  it('a truncated header, a size other than the bytes\', a part past the end or an unreadable field is a WasmProtocolError', async () => {
    const bytes = await nativeResult('core_basic', obj('core_basic'));
    const len = RESULT_KINDS.run.headerLength;
    for (const cut of [10, RESULT_VERSION_AT + 3, RESULT_VERSION_AT + 8, RESULT_PREFIX_LEN - 1, len - 1, len + 50, bytes.byteLength - 3]) {
      const e = caught(() => decodeResult(bytes.slice(0, cut), 'run'));
      expect(e, `cut at ${cut}`).toBeInstanceOf(WasmProtocolError);
    }
    // a byte more than the header says (a stray newline or NUL)
    const longer = new Uint8Array(bytes.byteLength + 1);
    longer.set(bytes);
    expect(caught(() => decodeResult(longer, 'run')).message).toContain(`gave ${bytes.byteLength + 1} bytes of a result whose header says ${bytes.byteLength}`);
    const fields = RESULT_KINDS.run.fields;
    const bad = bytes.slice();
    bad.set(enc.encode('0000zz00'), fields.plan.lengthAt);
    expect(caught(() => decodeResult(bad, 'run'))).toBeInstanceOf(WasmProtocolError);
    const badSize = bytes.slice();
    badSize.set(enc.encode('0000zz00'), RESULT_SIZE_AT);
    expect(caught(() => decodeResult(badSize, 'run')).message).toContain('size cannot be read');
    const early = bytes.slice();
    early.set(enc.encode('00000010'), fields.report.offsetAt); // inside the header
    expect(caught(() => decodeResult(early, 'run')).message).toContain("places part 'report' outside");
    const past = bytes.slice();
    past.set(enc.encode((bytes.byteLength).toString(16).padStart(8, '0')), fields.log.offsetAt);
    expect(caught(() => decodeResult(past, 'run')).message).toContain("places part 'log' outside");
    const renamed = bytes.slice();
    renamed.set(enc.encode('plam'), fields.plan.nameAt);
    expect(caught(() => decodeResult(renamed, 'run'))).toBeInstanceOf(WasmProtocolError);
  });

  it('a bytes kind round-trips binary parts (NULs and all)', () => {
    const btf = new Uint8Array([0x9f, 0xeb, 1, 0, 0x18, 0, 0, 0, 0, 0, 0, 0]);
    const r = encodeResult('btfgen', 'ok', { error: new Uint8Array(0), btf });
    expect(r.byteLength).toBe(RESULT_KINDS.btfgen.headerLength + btf.byteLength);
    const d = decodeResult(r, 'btfgen');
    expect(Buffer.from(d.parts.btf).equals(Buffer.from(btf))).toBe(true);
    expect(d.parts.error.byteLength).toBe(0);
  });
});

describe('every export returning a result writes its kind\'s header (the real wasm module)', () => {
  let wasm: CorebpfWasm;
  beforeAll(async () => {
    wasm = await CorebpfWasm.load(`${ROOT}dist/wasm`);
  });
  const target = () => new Uint8Array(readFileSync(`${TARGETS}/core_target.target.btf`));
  const object = () => new Uint8Array(readFileSync(obj('core_basic')));
  const garbage = new Uint8Array(64).fill(7);

  /** each kind: its export called once where it succeeds and once where it fails, and what
   *  each decoded result must hold */
  const calls: Record<ResultKind, { ok(): Uint8Array; failed(): Uint8Array; check(r: ResultParts, ok: boolean): void }> = {
    run: {
      ok: () => {
        const h = wasm.registerTarget(target());
        try {
          return wasm.run({ object: object(), objectName: 'core_basic', target: h, release: '', version: '', machine: '', pageSize: 4096, features: new Uint8Array(0), logLevel: 1 });
        } finally {
          wasm.releaseTarget(h);
        }
      },
      failed: () => wasm.run({ object: garbage, objectName: 'garbage', target: 0, release: '', version: '', machine: '', pageSize: 4096, features: new Uint8Array(0), logLevel: 1 }),
      check: (r, ok) => {
        const p = r.parts as ResultParts<'run'>['parts'];
        expect(parsePart<{ error: unknown }>(p.report).error === null).toBe(ok);
        expect(parsePart(p.plan) === null).toBe(!ok);
        expect(typeof parsePart(p.log)).toBe('string');
      },
    },
    open: {
      ok: () => wasm.open(object(), 'core_basic'),
      failed: () => wasm.open(garbage, 'garbage'),
      check: (r, ok) => {
        const p = r.parts as ResultParts<'open'>['parts'];
        const error = parsePart<{ code: string; errno: string } | null>(p.error);
        expect(error === null).toBe(ok);
        if (error) expect(error.errno).toBe(r.status);
        const spec = parsePart<{ programs: { name: string }[] } | null>(p.object);
        if (ok) expect(spec!.programs.map((x) => x.name)).toContain('handle_getpid');
        else expect(spec).toBeNull();
        expect(typeof parsePart(p.log)).toBe('string');
      },
    },
    'btf-dump': {
      ok: () => wasm.btfDumpC(target(), undefined),
      failed: () => wasm.btfDumpC(garbage, undefined),
      check: (r, ok) => {
        const p = r.parts as ResultParts<'btf-dump'>['parts'];
        if (ok) {
          expect(textPart(p.header)).toMatch(/^#ifndef __VMLINUX_H__\n[^]*struct core_basic \{[^]*#endif \/\* __VMLINUX_H__ \*\/\n$/);
          expect(p.error.byteLength).toBe(0);
        } else {
          expect(textPart(p.error)).toMatch(/^not valid BTF: /);
          expect(p.header.byteLength).toBe(0);
        }
      },
    },
    btfgen: {
      ok: () => {
        const bytes = object();
        const elf = new ElfFile(bytes, 'core_basic');
        const sec = (n: string) => {
          const s = elf.sections.find((x) => x.name === n)!;
          return bytes.slice(Number(s.offset), Number(s.offset) + Number(s.size));
        };
        return wasm.btfgen(target(), [{ btf: sec('.BTF'), ext: sec('.BTF.ext') }]);
      },
      failed: () => wasm.btfgen(garbage, []),
      check: (r, ok) => {
        const p = r.parts as ResultParts<'btfgen'>['parts'];
        if (ok) {
          expect(p.error.byteLength).toBe(0);
          // raw BTF: its magic, and smaller than the full target it came from
          expect(new DataView(p.btf.buffer, p.btf.byteOffset).getUint16(0, true)).toBe(0xeb9f);
          expect(p.btf.byteLength).toBeLessThan(target().byteLength);
        } else {
          expect(textPart(p.error)).toMatch(/^the target is not valid BTF: /);
          expect(p.btf.byteLength).toBe(0);
        }
      },
    },
  };

  it('the table covers every kind of wasm/result-protocol.json', () => {
    expect(Object.keys(calls).sort()).toEqual([...KINDS].sort());
  });

  for (const kind of KINDS) {
    it(`${kind}: ${RESULT_KINDS[kind].export}() succeeding and failing`, () => {
      const c = calls[kind];
      const good = decodeResult(c.ok(), kind);
      expect(good.status).toBe('ok');
      c.check(good, true);
      const bad = decodeResult(c.failed(), kind);
      expect(bad.status).toMatch(/^(E[A-Z0-9]+|LIBBPF_ERRNO__[A-Z0-9]+)$/);
      c.check(bad, false);
      // read as any other kind, it is refused
      for (const other of KINDS.filter((k) => k !== kind)) expect(() => decodeResult(c.ok(), other)).toThrow(WasmProtocolError);
    });
  }
});

describe('a wasm module speaking another version, through the worker', () => {
  let dir: string;
  let pool: WorkerPool;
  beforeAll(() => {
    // a real module whose writer says version 0x2000000N (its header format string patched)
    dir = mkdtempSync(`${tmpdir()}/corebpf-stale-wasm-`);
    copyFileSync(`${ROOT}dist/wasm/corebpf.cjs`, `${dir}/corebpf.cjs`);
    const wasm = readFileSync(`${ROOT}dist/wasm/corebpf.wasm`);
    patchResultVersion(wasm);
    writeFileSync(`${dir}/corebpf.wasm`, wasm);
    pool = new WorkerPool({ size: 1, wasmDir: dir });
  });
  afterAll(async () => {
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const stale = `the wasm module (dist/wasm) speaks result protocol version ${0x20000000 + RESULT_VERSION}, this corebpf reads version ${RESULT_VERSION}`;
  const rejection = (p: Promise<unknown>) => p.then(() => new Error('expected a rejection'), (x: Error) => x);

  it('relocate() fails with WasmProtocolError naming cb_run', async () => {
    const e = await rejection(pool.relocate({ object: new Uint8Array(readFileSync(obj('core_basic'))), objectName: 'core_basic', btf: new Uint8Array(readFileSync(obj('core_basic'))) }));
    expect(e).toBeInstanceOf(DistWasmProtocolError);
    expect(e.message).toContain(`cb_run() of ${stale}`);
    expect(e.message).toMatch(/rebuild the wasm module and the JavaScript from one checkout \(`make`\)/);
  });

  it('open(), btfDumpC() and btfMin() fail with WasmProtocolError naming their exports', async () => {
    const e1 = await rejection(pool.open({ object: new Uint8Array(readFileSync(obj('core_basic'))), objectName: 'core_basic' }));
    expect(e1).toBeInstanceOf(DistWasmProtocolError);
    expect(e1.message).toContain(`cb_open() of ${stale}`);
    const btf = new Uint8Array(readFileSync(`${TARGETS}/core_target.target.btf`));
    const e2 = await rejection(pool.btfDumpC({ btf: btf.slice(), name: 'core_target' }));
    expect(e2).toBeInstanceOf(DistWasmProtocolError);
    expect(e2.message).toContain(`cb_btf_dump_c() of ${stale}`);
    const e3 = await rejection(pool.btfMin({ target: btf.slice(), objects: [], name: 'core_target' }));
    expect(e3).toBeInstanceOf(DistWasmProtocolError);
    expect(e3.message).toContain(`cb_btfgen() of ${stale}`);
  });
});

describe('what the worker adds to a run\'s report (src/worker/run-result.ts)', () => {
  it('guards and needs together parse the report and the plan once each, as each alone judges them', async () => {
    // core_basic on core_target: relocations that fail, their instructions poisoned
    const r = decodeResult(await nativeResult('core_basic'), 'run');
    const { report, plan } = r.parts;
    expect(dec.decode(report)).toContain('"poisoned":true');
    const k510 = parseBtf(fixtureBytes('amd64-5.10.223.btf.xz'));
    const needs = { offers: kernelOffersFromBtf(k510), missing: ['btf_enum64'] };
    const parse = vi.spyOn(JSON, 'parse');
    let both: Uint8Array;
    try {
      both = judgeReport(report, plan, needs);
      expect(parse).toHaveBeenCalledTimes(2);
    } finally {
      parse.mockRestore();
    }
    const judged = JSON.parse(dec.decode(both)) as GlueReport;
    // the guards alone: the same relocation records
    const guarded = JSON.parse(dec.decode(judgeReport(report, plan))) as GlueReport;
    expect(guarded.relocations.some((x) => x.guarded !== undefined)).toBe(true);
    expect(judged.relocations).toEqual(guarded.relocations);
    // the needs: as unmetNeeds judges the plan with the guarded records
    const p = { ...parsePart<object>(plan), relocations: guarded.relocations } as LoadPlan;
    expect(judged.unmet).toEqual(unmetNeeds(p, needs.offers));
    expect(judged.missingFeatures).toEqual(['btf_enum64']);
    // nothing poisoned, nothing asked: the report's own bytes, unparsed
    const clean = enc.encode('{"error":null,"stats":{},"relocations":[]}');
    expect(judgeReport(clean, plan)).toBe(clean);
  });
});
