// A map handle's open phase: libbpf's bpf_map__set_* and bpf_map__reuse_fd, between
// bpf_object__open() and load. The handle records each adjustment with its opened object
// (opened.ts), which checks it against the object and answers with the map's attributes
// after it; a created map or a load plan's handle has no such object and refuses. Apart from
// map.ts: a created map's handle never goes through here.
import type { InnerMapAdjustment, MapAdjustment } from '../adjust.js';
import { CorebpfError } from '../errors.js';
import * as A from './attr.js';
import * as U from './generated/uapi.js';
import type { MapSpec } from './map-spec.js';

/** The opened object's side of a map handle before load: where adjustments go. */
export interface MapAdjuster {
  /** record an adjustment (throws when it is not possible); returns the map's attributes after it */
  adjustMap(name: string, a: MapAdjustment): MapSpec & { pinPath: string | null; autocreate: boolean; innerMap: InnerMapAdjustment | null };
  /** bpf_map__reuse_fd: use this map instead of creating one */
  reuseFd(name: string, fd: number): void;
}

/** The object a map handle's adjustments go to, and the attributes only the open phase has. */
export class MapOpenPhase {
  pinPath: string | null;
  autocreate = true;
  innerMap: InnerMapAdjustment | null = null;
  readonly #opened: MapAdjuster | null;

  constructor(opened: MapAdjuster | null, pinPath: string | null) {
    this.#opened = opened;
    this.pinPath = pinPath;
  }

  /** the open-phase attributes an opened object's handle starts with */
  init(pinPath: string | null, autocreate: boolean, innerMap: InnerMapAdjustment | null): void {
    this.pinPath = pinPath;
    this.autocreate = autocreate;
    this.innerMap = innerMap;
  }

  /** Record an adjustment of map `name` (`created`: it has an fd); the map's attributes after it. */
  adjust(name: string, created: boolean, what: string, a: MapAdjustment): MapSpec {
    if (!this.#opened) throw new CorebpfError(`map '${name}': ${what} needs an opened object (BpfObject.open), not a created map or a load plan`, { map: name });
    if (created) throw new CorebpfError(`map '${name}' is already created: ${what} before load()`, { map: name });
    const r = this.#opened.adjustMap(name, a);
    this.pinPath = r.pinPath;
    this.autocreate = r.autocreate;
    this.innerMap = r.innerMap;
    return r;
  }

  /** bpf_map__reuse_fd: the fd's attributes go through `adjust` as the map's, then the fd to the object. */
  reuseFd(name: string, created: boolean, fd: number, adjust: (a: MapAdjustment) => void): void {
    if (!this.#opened) throw new CorebpfError(`map '${name}': reuseFd needs an opened object (BpfObject.open)`, { map: name });
    if (created) throw new CorebpfError(`map '${name}' is already created: reuseFd before load()`, { map: name });
    const info = A.mapInfo(fd);
    adjust({ type: info.type, keySize: info.keySize, valueSize: info.valueSize, maxEntries: info.maxEntries, flags: info.mapFlags });
    this.#opened.reuseFd(name, fd);
  }
}

/** bpf_map__set_type's argument: a number or a name ('hash', 'BPF_MAP_TYPE_LRU_HASH'). */
export function mapTypeArg(type: number | string): number {
  let v = type;
  if (typeof v === 'string') {
    const want = v.toUpperCase().startsWith('BPF_MAP_TYPE_') ? v.toUpperCase() : `BPF_MAP_TYPE_${v.toUpperCase()}`;
    v = (U.bpf_map_type as Record<string, number>)[want] ?? NaN;
    if (Number.isNaN(v)) throw new CorebpfError(`unknown map type '${type}'`);
  }
  return v;
}

export function u32Arg(what: string, n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new CorebpfError(`bad ${what} ${n}: expected an unsigned 32-bit integer`);
  return n;
}
