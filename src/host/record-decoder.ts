// Records (ring buffer, perf buffer) decoded as a BTF type of their object, or as a
// reader's options ask.
import type { Btf } from '../btf/reader.js';
import { BTF_KIND_STRUCT, BTF_KIND_TYPEDEF, BTF_KIND_UNION, type BtfKind } from '../btf/kinds.js';
import { CorebpfError } from '../errors.js';
import { BtfCodec } from './btf-codec.js';

/** larger than any ring buffer (or perf) record the kernel hands out */
const MAX_RECORD_SIZE = 1 << 28;

/** A decoder for records of the BTF type `typeName` ('event', 'struct event', a typedef). */
export function recordDecoder<T>(objectName: string, btf: Btf | null, objectCodec: BtfCodec | null, typeName: string): (b: Buffer) => T {
  if (!btf) throw new CorebpfError(`object '${objectName}' has no BTF: cannot decode records as '${typeName}'`);
  const codec = objectCodec ?? new BtfCodec(btf);
  const m = /^(struct|union)\s+(.+)$/.exec(typeName.trim());
  const kinds: BtfKind[] = m ? [m[1] === 'union' ? BTF_KIND_UNION : BTF_KIND_STRUCT] : [BTF_KIND_STRUCT, BTF_KIND_UNION, BTF_KIND_TYPEDEF];
  const name = m ? m[2]! : typeName.trim();
  let t;
  for (const k of kinds) {
    t = btf.findByName(name, k);
    if (t) break;
  }
  if (!t) throw new CorebpfError(`object '${objectName}' has no BTF type '${typeName}' to decode records with`);
  const id = t.id;
  const size = codec.sizeOf(id);
  if (size > MAX_RECORD_SIZE) {
    throw new CorebpfError(`BTF type '${typeName}' of object '${objectName}' is ${size} bytes: too large for a record (at most ${MAX_RECORD_SIZE})`, { type: typeName, size });
  }
  return (b: Buffer) => {
    let data: Uint8Array = b;
    if (b.byteLength < size) {
      data = new Uint8Array(size);
      data.set(b);
    }
    return codec.decode(id, data) as T;
  };
}

/** The decoder a record reader's options ask for: `decode`, else one for the BTF type `type`, else none (Buffers). */
export function recordDecoderOf(opts: { decode?: (record: Buffer) => unknown; type?: string }, decoderFor: (typeName: string) => (b: Buffer) => unknown): ((b: Buffer) => unknown) | undefined {
  if (opts.decode) return opts.decode;
  if (opts.type) return decoderFor(opts.type);
  return undefined;
}
