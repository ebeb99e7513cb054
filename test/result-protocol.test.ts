// The result protocol between the wasm glue and the worker (wasm/result-protocol.json): the C
// writer's header and the TypeScript decoder agree, and anything else -- no header, another
// version, a truncated or inconsistent header -- is a WasmProtocolError that says to rebuild,
// never a JSON SyntaxError.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { WasmProtocolError as DistWasmProtocolError, WorkerPool } from '../dist/index.js';
import { WasmProtocolError } from '../src/errors.js';
import { RESULT_HEADER_LEN, RESULT_PART_FIELDS, RESULT_VERSION, RESULT_VERSION_AT } from '../src/worker/generated/result-protocol.js';
import { decodeResult, encodeResult, parsePart } from '../src/worker/result.js';
import { ROOT, TARGETS, nativeRun, obj } from './helpers.js';

const enc = new TextEncoder();

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

describe('the result header', () => {
  it('the C header and the TypeScript constants are generated from wasm/result-protocol.json and current', () => {
    const spec = JSON.parse(readFileSync(`${ROOT}wasm/result-protocol.json`, 'utf8')) as { version: number; parts: { name: string }[] };
    expect(spec.version).toBe(RESULT_VERSION);
    expect(readFileSync(`${ROOT}wasm/cb_result.h`, 'utf8')).toContain(`#define CB_RESULT_VERSION ${spec.version}\n`);
    expect(Object.keys(RESULT_PART_FIELDS)).toEqual(spec.parts.map((p) => p.name));
    // what make result-protocol-check runs: exits 1 when either file is stale
    execFileSync(process.execPath, [`${ROOT}scripts/gen-result-protocol.mjs`, '--check']);
  });

  it('the glue writes a header the decoder reads, and its parts are the JSON texts', async () => {
    const bytes = await nativeResult('core_basic', obj('core_basic'));
    const text = new TextDecoder().decode(bytes);
    expect(text.slice(0, RESULT_HEADER_LEN)).toMatch(new RegExp(`^corebpf-result 0000000${RESULT_VERSION} ok {22} report [0-9a-f]{8} [0-9a-f]{8} plan [0-9a-f]{8} [0-9a-f]{8} log [0-9a-f]{8} 00000002\\n$`));
    const r = decodeResult(bytes);
    expect(r.status).toBe('ok');
    const report = parsePart<{ error: null; stats: { relocations: number }; relocations: unknown[] }>(r, 'report');
    expect(report.error).toBeNull();
    expect(report.stats.relocations).toBe(report.relocations.length);
    expect(report.relocations.length).toBeGreaterThan(0);
    expect(parsePart<{ format: string }>(r, 'plan').format).toBe('corebpf-load-plan');
    expect(parsePart<string>(r, 'log')).toBe('');
    // the body after the header is one JSON document of the parts
    expect(Object.keys(JSON.parse(text.slice(RESULT_HEADER_LEN)) as object)).toEqual(['report', 'plan', 'log']);
    // the TypeScript encoder lays the parts out exactly as the C writer does
    expect(Buffer.from(encodeResult(r.status, r.parts)).equals(Buffer.from(bytes.subarray(0, bytes.byteLength)))).toBe(true);
  });

  it('a failed run has the errno name as its status and a null plan', async () => {
    // libbpf cannot pick among core_ambiguous's candidates in its synthetic target: EINVAL
    const r = decodeResult(await nativeResult('core_ambiguous', `${TARGETS}/core_ambiguous.target.btf`));
    const report = parsePart<{ error: { errno: string } | null }>(r, 'report');
    expect(report.error?.errno).toBe('EINVAL');
    expect(r.status).toBe('EINVAL');
    expect(parsePart(r, 'plan')).toBeNull();
  });

  it('a result from before the protocol (no header) is a WasmProtocolError saying to rebuild', () => {
    const e = caught(() => decodeResult(enc.encode('{"error":null,"stats":{},"relocations":[],"plan":null,"log":""}')));
    expect(e).toBeInstanceOf(WasmProtocolError);
    expect(e.message).toMatch(/without the 'corebpf-result' header.*rebuild.*make/);
  });

  it('another version is a WasmProtocolError naming both versions', async () => {
    const bytes = await nativeResult('core_basic', obj('core_basic'));
    bytes.set(enc.encode((RESULT_VERSION + 1).toString(16).padStart(8, '0')), RESULT_VERSION_AT);
    const e = caught(() => decodeResult(bytes, 'the wasm module (dist/wasm)')) as WasmProtocolError;
    expect(e).toBeInstanceOf(WasmProtocolError);
    expect(e.message).toContain(`speaks result protocol version ${RESULT_VERSION + 1}, this corebpf reads version ${RESULT_VERSION}`);
    expect(e.message).toMatch(/rebuild/);
    expect(e.details).toMatchObject({ code: 'wasm_protocol', expected: RESULT_VERSION, got: RESULT_VERSION + 1 });
  });

  it('a truncated header, a part past the end or an unreadable field is a WasmProtocolError', async () => {
    const bytes = await nativeResult('core_basic', obj('core_basic'));
    for (const cut of [10, RESULT_VERSION_AT + 3, RESULT_VERSION_AT + 8, RESULT_HEADER_LEN - 1, RESULT_HEADER_LEN + 50, bytes.byteLength - 3]) {
      const e = caught(() => decodeResult(bytes.slice(0, cut)));
      expect(e, `cut at ${cut}`).toBeInstanceOf(WasmProtocolError);
    }
    const bad = bytes.slice();
    bad.set(enc.encode('0000zz00'), RESULT_PART_FIELDS.plan.lengthAt);
    expect(caught(() => decodeResult(bad))).toBeInstanceOf(WasmProtocolError);
    const early = bytes.slice();
    early.set(enc.encode('00000010'), RESULT_PART_FIELDS.report.offsetAt); // inside the header
    expect(caught(() => decodeResult(early))).toBeInstanceOf(WasmProtocolError);
    const renamed = bytes.slice();
    renamed.set(enc.encode('plam'), RESULT_PART_FIELDS.plan.nameAt);
    expect(caught(() => decodeResult(renamed))).toBeInstanceOf(WasmProtocolError);
  });

  it('a wasm module speaking another version fails relocate() with WasmProtocolError through the worker', async () => {
    // a real module whose writer says version 0x2000000N: its header format string patched
    // ("%08x" -> "2%07x", the status field's precision shortened to keep the length)
    const dir = mkdtempSync(`${tmpdir()}/corebpf-stale-wasm-`);
    copyFileSync(`${ROOT}dist/wasm/corebpf.cjs`, `${dir}/corebpf.cjs`);
    const wasm = readFileSync(`${ROOT}dist/wasm/corebpf.wasm`);
    const from = Buffer.from('corebpf-result %08x %-24.24s');
    const at = wasm.indexOf(from);
    expect(at).toBeGreaterThan(0);
    Buffer.from('corebpf-result 2%07x %-24.9s').copy(wasm, at);
    writeFileSync(`${dir}/corebpf.wasm`, wasm);
    const pool = new WorkerPool({ size: 1, wasmDir: dir });
    try {
      const e = await pool.relocate({ object: new Uint8Array(readFileSync(obj('core_basic'))), objectName: 'core_basic', btf: new Uint8Array(readFileSync(obj('core_basic'))) })
        .then(() => new Error('expected a rejection'), (x: Error) => x);
      expect(e).toBeInstanceOf(DistWasmProtocolError);
      expect(e.message).toContain(`the wasm module (dist/wasm) speaks result protocol version ${0x20000000 + RESULT_VERSION}, this corebpf reads version ${RESULT_VERSION}`);
      expect(e.message).toMatch(/rebuild the wasm module and the JavaScript from one checkout \(`make`\)/);
    } finally {
      await pool.close();
    }
  });
});
