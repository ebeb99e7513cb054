// The index of a BTF blob's types by name, apart from the reader because it is the one hot
// path of parsing: built for every kernel BTF `check` reads (~130k names). Names are hashed
// from their bytes, not decoded: decoding them all to strings per parse would cost more, and
// most are never asked for. An open-addressing table in two typed arrays, not a Map of
// arrays: no object per name for the collector to trace (check builds one per kernel in each
// worker).
import type { Btf } from './reader.js';

/** Named types by the FNV-1a hash of their name: `slots` holds record index + 1 (0: empty). */
export interface NameIndex {
  hashes: Uint32Array;
  slots: Uint32Array;
  mask: number;
}

export const NAME_ENCODER = new TextEncoder();

/** FNV-1a over bytes [start, end) */
export function fnv1a(b: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return h >>> 0;
}

/**
 * The index of the records at `offsets` (absolute, in `data`) by name. `strStart`,
 * `startStrOff` and `strLen` place the blob's own string section, as in the reader;
 * `strings` serves the names outside it.
 */
export function buildNameIndex(
  data: Uint8Array, view: DataView, le: boolean, offsets: Uint32Array,
  strStart: number, startStrOff: number, strLen: number, strings: Pick<Btf, 'strAt'>,
): NameIndex {
  const n = offsets.length;
  const hashes = new Uint32Array(n);
  let size = 16;
  while (size < n * 2) size *= 2;
  const slots = new Uint32Array(size), mask = size - 1;
  for (let i = 0; i < n; i++) {
    const nameOff = view.getUint32(offsets[i]!, le);
    if (nameOff === 0) continue;
    let h: number;
    const rel = nameOff - startStrOff;
    if (rel >= 0 && rel < strLen) {
      // fnv1a up to the NUL, inline: a call to indexOf per name costs more than the hash
      h = 0x811c9dc5;
      for (let j = strStart + rel, c; (c = data[j]!) !== 0; j++) h = Math.imul(h ^ c, 0x01000193);
      h >>>= 0;
    } else {
      const b = NAME_ENCODER.encode(strings.strAt(nameOff)); // a split BTF naming a base string
      h = fnv1a(b, 0, b.length);
    }
    hashes[i] = h;
    let slot = h & mask;
    while (slots[slot] !== 0) slot = (slot + 1) & mask;
    slots[slot] = i + 1;
  }
  return { hashes, slots, mask };
}
