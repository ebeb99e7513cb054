// The Relocator's memory of earlier results. The worker is pure (same inputs, same plan), so
// a relocation whose every input equals an earlier one's gets that one's result again —
// decoded anew from its bytes, so no caller shares objects with another. Entries are found
// by the object's sha256 and then compared input by input (strings by value, byte arrays
// by content; the target BTF by the Relocator's key: the same array or the same file),
// never by a hash of the inputs alone. Opened specs (libbpf's open phase) likewise, by
// object and name.
import type { ObjectSpec } from './object-spec.js';
import type { RelocateRequest, RelocateWire } from './worker/service.js';

export interface OpenKey {
  sha256: string;
  objectName: string;
}

interface ResultEntry {
  sha256: string;
  req: RelocateRequest;
  features: string;
  adjustments: string;
  wire: RelocateWire;
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.byteLength !== b.byteLength) return false;
  return Buffer.compare(a, b) === 0;
}

function sameList<T>(a: readonly T[] | undefined, b: readonly T[] | undefined, eq: (x: T, y: T) => boolean): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  return a.every((x, i) => eq(x, b[i]!));
}

/** the request's inputs that are not compared directly (small, plain data) */
const json = (v: unknown) => (v === undefined ? '' : JSON.stringify(v));

/** the scalar inputs of a relocation, compared with === (the object by its sha256) */
const SCALARS = ['objectName', 'btfKey', 'kconfig', 'kallsyms', 'kernelRelease', 'kernelVersion', 'machine', 'pageSize', 'logLevel', 'reportOnly', 'reportMode', 'profileTarget'] as const;

export class ResultCache {
  #results: ResultEntry[] = [];
  #specs: { key: OpenKey; spec: ObjectSpec }[] = [];

  constructor(private readonly size: number) {}

  #find(sha256: string, req: RelocateRequest): number {
    let features: string | undefined;
    let adjustments: string | undefined;
    return this.#results.findIndex((e) => {
      if (e.sha256 !== sha256 || !SCALARS.every((k) => e.req[k] === req[k])) return false;
      if (e.features !== (features ??= json(req.features)) || e.adjustments !== (adjustments ??= json(req.adjustments))) return false;
      if (e.req.kernelOffers !== req.kernelOffers) return false; // by identity: large, rarely given
      return sameList(e.req.moduleBtfs, req.moduleBtfs, (x, y) => x.name === y.name && sameBytes(x.data, y.data))
        && sameList(e.req.targetPrograms, req.targetPrograms, sameBytes);
    });
  }

  /** an earlier result of equal inputs (the entry becomes the most recent), or undefined */
  result(sha256: string, req: RelocateRequest): RelocateWire | undefined {
    if (!this.size) return undefined;
    const i = this.#find(sha256, req);
    if (i < 0) return undefined;
    const [e] = this.#results.splice(i, 1);
    this.#results.push(e!);
    // nothing was parsed for it: the target is as good as cached
    return { result: e!.wire.result, targetCached: true };
  }

  /** keep a worker's result (its bytes: each hit decodes them again); returns it */
  keepResult(sha256: string, req: RelocateRequest, wire: RelocateWire): RelocateWire {
    if (!this.size) return wire;
    // the inputs compared later are kept as given: byte arrays are copied, the object is not
    // (it is known by its sha256)
    // (module BTF is megabytes on a host with many modules, and equal across entries: an
    // earlier entry's copy of equal content is shared, not copied again)
    const modules = this.#results.find((e) => sameList(e.req.moduleBtfs, req.moduleBtfs, (x, y) => x.name === y.name && sameBytes(x.data, y.data)))?.req.moduleBtfs;
    const kept: RelocateRequest = {
      ...req, object: new Uint8Array(0), btf: undefined,
      moduleBtfs: req.moduleBtfs && (modules ?? req.moduleBtfs.map((m) => ({ name: m.name, data: new Uint8Array(m.data) }))),
      targetPrograms: req.targetPrograms?.map((t) => new Uint8Array(t)),
    };
    this.#results.push({ sha256, req: kept, features: json(req.features), adjustments: json(req.adjustments), wire });
    while (this.#results.length > this.size) this.#results.shift();
    return wire;
  }

  /** an earlier opened spec of the same object and name (shared, frozen), or undefined */
  spec(key: OpenKey): ObjectSpec | undefined {
    if (!this.size) return undefined;
    return this.#specs.find((x) => x.key.sha256 === key.sha256 && x.key.objectName === key.objectName)?.spec;
  }

  /** keep a worker's spec: frozen, it is shared from now on (returned) */
  keepSpec(key: OpenKey, spec: ObjectSpec): ObjectSpec {
    deepFreeze(spec);
    if (!this.size) return spec;
    this.#specs.push({ key, spec });
    while (this.#specs.length > this.size) this.#specs.shift();
    return spec;
  }
}

function deepFreeze(v: unknown): void {
  if (v === null || typeof v !== 'object' || Object.isFrozen(v)) return;
  Object.freeze(v);
  for (const x of Object.values(v)) deepFreeze(x);
}
