// What the codec's parts share: the decoded value type, its error, the nesting limit.
/** A decoded value. */
export type BtfValue =
  | number | bigint | boolean | string | Buffer | BtfValue[] | { [name: string]: BtfValue };

/** A value that does not fit its BTF type (or bytes that do not decode); `path` says where in the value. */
export class BtfCodecError extends TypeError {
  constructor(message: string, readonly path: string) {
    super(message);
    this.name = 'BtfCodecError';
  }
}

export const MAX_DEPTH = 64;

export function u8(b: Uint8Array | Buffer): Uint8Array {
  return b as Uint8Array;
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (v instanceof Uint8Array) return `${v.byteLength} bytes`;
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '...' : v)}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}
