// The result protocol of the glue's entry points (cb_run, cb_open, cb_btf_dump_c, cb_btfgen:
// every CB_EXPORT returning a result): a header line, then the parts. The layout, version and
// kinds come from wasm/result-protocol.json through src/worker/generated/result-protocol.ts;
// this module reads and writes it, and is the one decoder of what leaves the wasm. The worker
// decodes the wasm's result; for a run it replaces parts (guards, needs, Linux errnos;
// reportOnly drops plan and log) and encodes it again only when something changed; the caller
// decodes it and parses each part (docs/load-plan.md, "The worker's result").
import { WasmProtocolError } from '../errors.js';
import {
  RESULT_KINDS, RESULT_KIND_AT, RESULT_KIND_WIDTH, RESULT_MAGIC, RESULT_NUMBER_WIDTH, RESULT_PREFIX_LEN, RESULT_SIZE_AT,
  RESULT_STATUS_AT, RESULT_STATUS_OK, RESULT_STATUS_WIDTH, RESULT_VERSION, RESULT_VERSION_AT, type ResultKind, type ResultPart,
} from './generated/result-protocol.js';

export { RESULT_STATUS_OK, RESULT_VERSION, type ResultKind, type ResultPart };

/** a decoded result: its kind, the status ('ok' or the errno's name) and each part's bytes
 * (views into the result, not copies) */
export interface ResultParts<K extends ResultKind = ResultKind> {
  kind: K;
  status: string;
  parts: Record<ResultPart<K>, Uint8Array>;
}

const REBUILD = 'rebuild the wasm module and the JavaScript from one checkout (`make`)';
const enc = new TextEncoder();
const dec = new TextDecoder();
const MAGIC = enc.encode(`${RESULT_MAGIC} `);
const HEX = enc.encode('0123456789abcdef');

interface KindCodec {
  export: string;
  json: boolean;
  headerLength: number;
  parts: readonly string[];
  fields: readonly { nameAt: number; offsetAt: number; lengthAt: number }[];
  /** the kind field: the name space-padded */
  field: Uint8Array;
  names: Uint8Array[];
  /** a JSON body's framing before each part ('{"report":', ',"plan":', ...) */
  keys: Uint8Array[];
}

const CODECS = Object.fromEntries(Object.entries(RESULT_KINDS).map(([kind, k]) => {
  const fields = k.fields as Record<string, { nameAt: number; offsetAt: number; lengthAt: number }>;
  const codec: KindCodec = {
    export: k.export,
    json: k.body === 'json',
    headerLength: k.headerLength,
    parts: k.parts,
    fields: k.parts.map((p) => fields[p]!),
    field: enc.encode(kind.padEnd(RESULT_KIND_WIDTH)),
    names: k.parts.map((p) => enc.encode(p)),
    keys: k.parts.map((p, i) => (k.body === 'json' ? enc.encode(`${i ? ',' : '{'}"${p}":`) : new Uint8Array(0))),
  };
  return [kind, codec];
})) as Record<ResultKind, KindCodec>;

/** lowercase hex of RESULT_NUMBER_WIDTH digits at `at`, or -1 */
function hexAt(b: Uint8Array, at: number): number {
  if (at + RESULT_NUMBER_WIDTH > b.byteLength) return -1;
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

function ascii(b: Uint8Array): string {
  return String.fromCharCode.apply(null, Array.from(b));
}

/**
 * The length of the result that starts at `bytes` (the wasm heap from the returned pointer,
 * say), read from its header: -1 when it starts with no header of this version, whose length
 * cannot be trusted (decodeResult says why).
 */
export function resultSize(bytes: Uint8Array): number {
  if (!bytesAt(bytes, 0, MAGIC) || hexAt(bytes, RESULT_VERSION_AT) !== RESULT_VERSION) return -1;
  return hexAt(bytes, RESULT_SIZE_AT);
}

/**
 * Read a result that must be of `kind` (what its export writes); `source` names where the
 * bytes came from, for the error. Throws WasmProtocolError, naming the export and what was
 * wrong, when they are no result of this protocol version and kind: no header, another
 * version, another kind, a size other than the bytes', or a part outside them.
 */
export function decodeResult<K extends ResultKind>(bytes: Uint8Array, kind: K, source = 'the wasm module'): ResultParts<K> {
  const k = CODECS[kind];
  const who = `${k.export}() of ${source}`;
  const fail = (what: string, details: Record<string, unknown>): never => {
    throw new WasmProtocolError(`${who} ${what}: ${REBUILD}`, { code: 'wasm_protocol', export: k.export, kind, expected: RESULT_VERSION, ...details });
  };
  if (!bytesAt(bytes, 0, MAGIC)) {
    const start = dec.decode(bytes.subarray(0, 24));
    fail(`gave a result without the '${RESULT_MAGIC}' header (it starts ${JSON.stringify(start)}): a module built before the result protocol, or not corebpf's`, { got: null });
  }
  const version = hexAt(bytes, RESULT_VERSION_AT);
  if (version < 0) fail(`gave a result header whose version cannot be read (${bytes.byteLength} bytes)`, { got: null });
  if (version !== RESULT_VERSION) {
    fail(`speaks result protocol version ${version}, this corebpf reads version ${RESULT_VERSION} (a stale dist/wasm?)`, { got: version });
  }
  if (bytes.byteLength < RESULT_PREFIX_LEN) fail(`gave a truncated result (${bytes.byteLength} bytes, less than a header)`, { got: version });
  if (!bytesAt(bytes, RESULT_KIND_AT, k.field)) {
    const got = ascii(bytes.subarray(RESULT_KIND_AT, RESULT_KIND_AT + RESULT_KIND_WIDTH)).trimEnd();
    fail(`gave a result of kind '${got}', not '${kind}'`, { got: version, gotKind: got });
  }
  const size = hexAt(bytes, RESULT_SIZE_AT);
  if (size !== bytes.byteLength) {
    fail(size < 0 ? 'gave a result whose size cannot be read' : `gave ${bytes.byteLength} bytes of a result whose header says ${size}`, { got: version, size });
  }
  if (bytes.byteLength < k.headerLength || bytes[k.headerLength - 1] !== 0x0a) {
    fail(`gave a result whose header is not the ${k.headerLength} bytes of kind '${kind}'`, { got: version });
  }
  const parts = {} as Record<string, Uint8Array>;
  k.parts.forEach((name, i) => {
    const f = k.fields[i]!;
    const off = hexAt(bytes, f.offsetAt);
    const len = hexAt(bytes, f.lengthAt);
    if (!bytesAt(bytes, f.nameAt, k.names[i]!) || off < k.headerLength || len < 0 || off + len > bytes.byteLength) {
      fail(`gave a result whose header places part '${name}' outside its ${bytes.byteLength} bytes`, { got: version, part: name });
    }
    parts[name] = bytes.subarray(off, off + len);
  });
  let end = RESULT_STATUS_AT + RESULT_STATUS_WIDTH;
  while (end > RESULT_STATUS_AT && bytes[end - 1] === 0x20) end--;
  return { kind, status: ascii(bytes.subarray(RESULT_STATUS_AT, end)), parts: parts as Record<ResultPart<K>, Uint8Array> };
}

/** Write a result of `kind`: the header and the body (a JSON kind's {"part":...,...}, the
 * glue's framing, or the parts back to back), in one new buffer (it moves to the caller's
 * thread whole). */
export function encodeResult<K extends ResultKind>(kind: K, status: string, parts: Record<ResultPart<K>, Uint8Array>): Uint8Array {
  if (!/^[\x21-\x7e]+$/.test(status) || status.length > RESULT_STATUS_WIDTH) throw new RangeError(`result status '${status}' is not up to ${RESULT_STATUS_WIDTH} printable ASCII characters`);
  const k = CODECS[kind];
  const part = (i: number) => (parts as Record<string, Uint8Array>)[k.parts[i]!]!;
  const size = k.headerLength + k.keys.reduce((n, key, i) => n + key.byteLength + part(i).byteLength, 0) + (k.json ? 1 : 0);
  const out = new Uint8Array(size);
  // the header: magic, version, size, kind, status, then each part's name, offset and length
  out.fill(0x20, 0, k.headerLength);
  out.set(MAGIC, 0);
  putHex(out, RESULT_VERSION_AT, RESULT_VERSION);
  putHex(out, RESULT_SIZE_AT, size);
  out.set(k.field, RESULT_KIND_AT);
  for (let i = 0; i < status.length; i++) out[RESULT_STATUS_AT + i] = status.charCodeAt(i);
  out[k.headerLength - 1] = 0x0a;
  let at = k.headerLength;
  k.parts.forEach((_, i) => {
    const f = k.fields[i]!;
    const p = part(i);
    out.set(k.keys[i]!, at);
    at += k.keys[i]!.byteLength;
    out.set(k.names[i]!, f.nameAt);
    putHex(out, f.offsetAt, at);
    putHex(out, f.lengthAt, p.byteLength);
    out.set(p, at);
    at += p.byteLength;
  });
  if (k.json) out[at] = 0x7d; // }
  return out;
}

/** a JSON part (`r.parts.report`, say), parsed */
export function parsePart<T>(part: Uint8Array): T {
  return JSON.parse(dec.decode(part)) as T;
}

/** a text part (a bytes kind's error, say), decoded as UTF-8 */
export function textPart(part: Uint8Array): string {
  return dec.decode(part);
}
