// The result protocol of cb_run() (wasm/corebpf.c): a header line, then the parts as JSON
// texts. The layout and version come from wasm/result-protocol.json through
// src/worker/generated/result-protocol.ts; this module reads and writes it. The worker
// decodes the wasm's result, replaces parts (guards, needs, Linux errnos; reportOnly drops
// plan and log) and encodes it again only when something changed; the caller decodes it and
// parses each part (docs/load-plan.md, "The worker's result").
import { WasmProtocolError } from '../errors.js';
import {
  RESULT_HEADER_LEN, RESULT_MAGIC, RESULT_NUMBER_WIDTH, RESULT_PARTS, RESULT_PART_FIELDS, RESULT_STATUS_AT,
  RESULT_STATUS_OK, RESULT_STATUS_WIDTH, RESULT_VERSION, RESULT_VERSION_AT, type ResultPart,
} from './generated/result-protocol.js';

export { RESULT_STATUS_OK, RESULT_VERSION, type ResultPart };

/** a decoded result: the status ('ok' or the errno's name) and each part's JSON text
 * (views into the bytes, not copies) */
export interface ResultParts {
  status: string;
  parts: Record<ResultPart, Uint8Array>;
}

const REBUILD = 'rebuild the wasm module and the JavaScript from one checkout (`make`)';
const enc = new TextEncoder();
const dec = new TextDecoder();
const MAGIC = enc.encode(`${RESULT_MAGIC} `);
/** per part: its name's bytes, and the body's framing before it ('{"report":', ',"plan":', ...) */
const NAMES = RESULT_PARTS.map((name) => enc.encode(name));
const KEYS = RESULT_PARTS.map((name, i) => enc.encode(`${i ? ',' : '{'}"${name}":`));
const HEX = enc.encode('0123456789abcdef');

function fail(what: string, details: Record<string, unknown>): never {
  throw new WasmProtocolError(`${what}: ${REBUILD}`, { code: 'wasm_protocol', expected: RESULT_VERSION, ...details });
}

/** lowercase hex of RESULT_NUMBER_WIDTH digits at `at`, or -1 */
function hexAt(b: Uint8Array, at: number): number {
  let v = 0;
  for (let i = at; i < at + RESULT_NUMBER_WIDTH; i++) {
    const c = b[i]!;
    const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

function putHex(b: Uint8Array, at: number, v: number): void {
  for (let i = RESULT_NUMBER_WIDTH - 1; i >= 0; i--, v >>>= 4) b[at + i] = HEX[v & 15]!;
}

function bytesAt(b: Uint8Array, at: number, want: Uint8Array): boolean {
  if (at + want.byteLength > b.byteLength) return false;
  for (let i = 0; i < want.byteLength; i++) if (b[at + i] !== want[i]) return false;
  return true;
}

/** Read a result's header; `source` names where the bytes came from, for the error. Throws
 * WasmProtocolError when they are no result of this protocol version. */
export function decodeResult(bytes: Uint8Array, source = 'the wasm module'): ResultParts {
  if (!bytesAt(bytes, 0, MAGIC)) {
    const start = dec.decode(bytes.subarray(0, 24));
    fail(`${source} gave a result without the '${RESULT_MAGIC}' header (it starts ${JSON.stringify(start)}): a module built before the result protocol, or not corebpf's`, { got: null });
  }
  const version = bytes.byteLength >= RESULT_VERSION_AT + RESULT_NUMBER_WIDTH ? hexAt(bytes, RESULT_VERSION_AT) : -1;
  if (version < 0) fail(`${source} gave a result header whose version cannot be read (${bytes.byteLength} bytes)`, { got: null });
  if (version !== RESULT_VERSION) {
    fail(`${source} speaks result protocol version ${version}, this corebpf reads version ${RESULT_VERSION} (a stale dist/wasm?)`, { got: version });
  }
  if (bytes.byteLength < RESULT_HEADER_LEN || bytes[RESULT_HEADER_LEN - 1] !== 0x0a) {
    fail(`${source} gave a truncated result (${bytes.byteLength} bytes; the header alone is ${RESULT_HEADER_LEN})`, { got: version });
  }
  const parts = {} as Record<ResultPart, Uint8Array>;
  RESULT_PARTS.forEach((name, i) => {
    const f = RESULT_PART_FIELDS[name];
    const off = hexAt(bytes, f.offsetAt);
    const len = hexAt(bytes, f.lengthAt);
    if (!bytesAt(bytes, f.nameAt, NAMES[i]!) || off < RESULT_HEADER_LEN || len < 0 || off + len > bytes.byteLength) {
      fail(`${source} gave a result whose header places part '${name}' outside its ${bytes.byteLength} bytes`, { got: version, part: name });
    }
    parts[name] = bytes.subarray(off, off + len);
  });
  let end = RESULT_STATUS_AT + RESULT_STATUS_WIDTH;
  while (end > RESULT_STATUS_AT && bytes[end - 1] === 0x20) end--;
  return { status: String.fromCharCode.apply(null, Array.from(bytes.subarray(RESULT_STATUS_AT, end))), parts };
}

/** Write a result: the header and {"report":...,"plan":...,"log":...} (the glue's framing),
 * in one new buffer (it moves to the caller's thread whole). */
export function encodeResult(status: string, parts: Record<ResultPart, Uint8Array>): Uint8Array {
  if (!/^[\x21-\x7e]+$/.test(status) || status.length > RESULT_STATUS_WIDTH) throw new RangeError(`result status '${status}' is not up to ${RESULT_STATUS_WIDTH} printable ASCII characters`);
  const size = RESULT_HEADER_LEN + KEYS.reduce((n, k, i) => n + k.byteLength + parts[RESULT_PARTS[i]!].byteLength, 0) + 1;
  const out = new Uint8Array(size);
  // the header: magic, version, status, then each part's name, offset and length
  out.fill(0x20, 0, RESULT_HEADER_LEN);
  out.set(MAGIC, 0);
  putHex(out, RESULT_VERSION_AT, RESULT_VERSION);
  for (let i = 0; i < status.length; i++) out[RESULT_STATUS_AT + i] = status.charCodeAt(i);
  out[RESULT_HEADER_LEN - 1] = 0x0a;
  let at = RESULT_HEADER_LEN;
  RESULT_PARTS.forEach((name, i) => {
    const f = RESULT_PART_FIELDS[name];
    const p = parts[name];
    out.set(KEYS[i]!, at);
    at += KEYS[i]!.byteLength;
    out.set(NAMES[i]!, f.nameAt);
    putHex(out, f.offsetAt, at);
    putHex(out, f.lengthAt, p.byteLength);
    out.set(p, at);
    at += p.byteLength;
  });
  out[at] = 0x7d; // }
  return out;
}

/** a part's JSON text, parsed */
export function parsePart<T>(r: ResultParts, name: ResultPart): T {
  return JSON.parse(dec.decode(r.parts[name])) as T;
}
