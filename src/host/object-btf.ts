// An object's BTF, parsed, and the codec its maps and records are encoded with. An opened
// object has its spec's BTF until relocation gives it the plan's: both are redone when the
// BTF text changes.
import { parseBtf, type Btf } from '../btf/reader.js';
import { planBytes } from '../plan.js';
import { BtfCodec } from './btf-codec.js';

/* The object BTF of recent plans and specs, parsed (a Btf is read-only once parsed): an
 * object opened and loaded again parses its BTF once. By the base64 text itself. */
const parsedBtfs = new Map<string, Btf>();
function parsedBtf(src: string): Btf {
  let btf = parsedBtfs.get(src);
  if (btf) {
    parsedBtfs.delete(src);
  } else {
    btf = parseBtf(planBytes(src));
  }
  parsedBtfs.set(src, btf);
  if (parsedBtfs.size > 8) parsedBtfs.delete(parsedBtfs.keys().next().value as string);
  return btf;
}

/** One object's parsed BTF and codec, for the BTF text it has now. */
export class ObjectBtf {
  readonly #opts: { readonly raw?: boolean };
  #state: { src: string | null; btf: Btf | null; codec: BtfCodec | null } | null = null;

  /** `opts.raw`: no codec (raw Buffers for every key and value) */
  constructor(opts: { readonly raw?: boolean }) {
    this.#opts = opts;
  }

  /** The BTF of base64 text `src` (null: none) and its codec. */
  of(src: string | null): { btf: Btf | null; codec: BtfCodec | null } {
    if (this.#state?.src !== src) {
      const btf = src ? parsedBtf(src) : null;
      this.#state = { src, btf, codec: btf && !this.#opts.raw ? new BtfCodec(btf) : null };
    }
    return this.#state;
  }
}
