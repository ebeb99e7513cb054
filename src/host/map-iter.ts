// Walking a map's keys with BPF_MAP_GET_NEXT_KEY. The next key is fetched BEFORE the current
// one is handed out, so deleting the current key inside the loop is safe; if a key the walk
// still needs disappears anyway, the kernel restarts hash maps from their first key and keys
// already handed out are skipped. The raw entries and the count are walks too.
import * as A from './attr.js';

/** Raw keys of the map (safe against deleting the current key); its fd is read at each call. */
export function* nextKeys(m: { readonly fd: number; readonly keySize: number; readonly maxEntries: number }): Generator<Buffer, void, undefined> {
  const ks = m.keySize;
  let next = A.bytes(ks);
  if (!A.mapGetNextKey(m.fd, null, next)) return;
  const seen = new Set<string>();
  let steps = 0;
  const limit = 4 * Math.max(m.maxEntries, 1) + 1024;
  for (;;) {
    const cur = next;
    // fetch the next key before the caller sees (and maybe deletes) the current one
    const after = A.bytes(ks);
    const more = A.mapGetNextKey(m.fd, cur, after);
    const id = Buffer.from(cur.buffer, cur.byteOffset, cur.byteLength).toString('latin1');
    if (!seen.has(id)) {
      seen.add(id);
      yield Buffer.from(cur);
    }
    if (!more || ++steps > limit) return;
    next = after;
  }
}

/** Raw [key, value] pairs; keys deleted between the key walk and the lookup are skipped. */
export function* rawEntries(m: { keysRaw(): Iterable<Buffer>; getRaw(key: Buffer): Buffer | undefined }): Generator<[Buffer, Buffer], void, undefined> {
  for (const k of m.keysRaw()) {
    const v = m.getRaw(k);
    if (v !== undefined) yield [k, v];
  }
}

/** Number of keys (walks the map). */
export function countKeys(m: { keysRaw(): Iterable<Buffer> }): number {
  let n = 0;
  for (const _ of m.keysRaw()) n++;
  return n;
}
