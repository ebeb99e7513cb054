// Global variables of a BPF object by name (.rodata, .data, .bss and custom sections),
// through the object's BTF: listed, set before load (pending images of the internal maps,
// handed to the replay) and read or written after load through the maps.
import type { Btf } from '../btf/reader.js';
import { BTF_KIND_DATASEC } from '../btf/kinds.js';
import { CorebpfError } from '../errors.js';
import { planBytes, type LoadPlan } from '../plan.js';
import { BtfCodec, BtfCodecError, type BtfValue, type DatasecVar } from './btf-codec.js';
import type { BpfMap } from './map.js';
import type { OpenedObject } from './opened.js';

/** A global variable of an object (a `.rodata`, `.data` or `.bss` variable). */
export interface GlobalVariable {
  name: string;
  /** the section: .rodata, .data, .bss, .rodata.NAME, ... */
  section: string;
  /** C type, e.g. "volatile const u32" */
  type: string;
  offset: number;
  size: number;
  /** writable after load (not in a frozen .rodata map) */
  writableAfterLoad: boolean;
}

interface GlobalRef extends DatasecVar {
  map: string;
  section: string;
}

/** what the global-variable code needs of an internal map, from a plan or an opened object */
interface GlobalMap {
  name: string;
  btfValueTypeId: number;
  valueSize: number;
  initial: Uint8Array | null;
  /** read-only once loaded */
  freeze: boolean;
}

/** What the globals need of their object: its public side ... */
export interface GlobalsObject {
  readonly name: string;
  readonly btf: Btf | null;
  readonly codec: BtfCodec | null;
  readonly loaded: boolean;
}

/** ... and its private state */
export interface GlobalsState {
  /** the plan once relocated, else null */
  currentPlan(): LoadPlan | null;
  readonly opened: OpenedObject | null;
  createdMap(name: string): BpfMap;
}

/** libbpf's section name of an internal map (its BTF DATASEC's, else from its name) */
export function sectionOfInternal(m: { name: string; btfValueTypeId: number }, btf: Btf | null): string {
  if (btf && m.btfValueTypeId) {
    try {
      const t = btf.typeById(m.btfValueTypeId);
      if (t.kind === BTF_KIND_DATASEC) return t.name;
    } catch { /* fall through */ }
  }
  const dot = m.name.indexOf('.');
  return dot >= 0 ? m.name.slice(dot) : m.name;
}

/** libbpf freezes these internal maps (read-only for programs, fixed once loaded) */
function frozenSection(section: string): boolean {
  return section === '.rodata' || section.startsWith('.rodata.') || section === '.kconfig';
}

export class GlobalVars {
  #index: Map<string, GlobalRef[]> | null = null;
  /** pending images of global-variable maps, by map name */
  readonly pending = new Map<string, Uint8Array>();

  constructor(private readonly obj: GlobalsObject, private readonly state: GlobalsState) {}

  /** forget the index (the plan or the BTF changed) */
  reset(): void {
    this.#index = null;
  }

  #maps(): GlobalMap[] {
    const plan = this.state.currentPlan();
    if (plan) {
      return plan.maps.filter((m) => m.internal).map((m) => {
        const init = m.initial.find((i) => i.value !== undefined);
        return { name: m.name, btfValueTypeId: m.btfValueTypeId, valueSize: m.valueSize, initial: init?.value ? planBytes(init.value) : null, freeze: m.freeze };
      });
    }
    const o = this.state.opened!;
    return o.spec.maps.filter((m) => m.internal).map((m) => ({
      name: m.name, btfValueTypeId: m.btfValueTypeId, valueSize: o.mapState(m.name).valueSize, initial: m.initial ? planBytes(m.initial) : null,
      freeze: frozenSection(sectionOfInternal(m, this.obj.btf)),
    }));
  }

  #map(name: string): GlobalMap {
    return this.#maps().find((m) => m.name === name)!;
  }

  #codec(): BtfCodec {
    const btf = this.obj.btf;
    if (!btf) throw new CorebpfError(`object '${this.obj.name}' has no BTF: its global variables cannot be found by name`);
    return this.obj.codec ?? new BtfCodec(btf);
  }

  #all(): Map<string, GlobalRef[]> {
    if (this.#index) return this.#index;
    const idx = new Map<string, GlobalRef[]>();
    const codec = this.obj.btf ? this.#codec() : null;
    for (const m of this.#maps()) {
      if (!codec || !m.btfValueTypeId) continue;
      let t;
      try {
        t = codec.btf.typeById(m.btfValueTypeId);
      } catch {
        continue;
      }
      if (t.kind !== BTF_KIND_DATASEC || t.name === '.kconfig' || t.name.startsWith('.ksyms')) continue;
      for (const v of codec.datasecVars(t.id)) {
        const list = idx.get(v.name) ?? [];
        list.push({ ...v, map: m.name, section: t.name });
        idx.set(v.name, list);
      }
    }
    this.#index = idx;
    return idx;
  }

  list(): GlobalVariable[] {
    const codec = this.#codec();
    const out: GlobalVariable[] = [];
    for (const list of this.#all().values()) {
      for (const g of list) {
        out.push({
          name: g.name, section: g.section, type: codec.typeName(g.typeId), offset: g.offset, size: g.size,
          writableAfterLoad: !this.#map(g.map).freeze,
        });
      }
    }
    return out.sort((a, b) => a.section.localeCompare(b.section) || a.offset - b.offset);
  }

  #find(name: string, sectionPrefix?: string): GlobalRef {
    this.#codec();
    const all = this.#all();
    const inSection = (g: GlobalRef) => !sectionPrefix || g.section === sectionPrefix || g.section.startsWith(sectionPrefix + '.');
    const matches = (all.get(name) ?? []).filter(inSection);
    if (matches.length === 1) return matches[0]!;
    const avail = [...all.values()].flat().filter(inSection).map((g) => `${g.name} (${g.section})`);
    if (matches.length === 0) {
      throw new CorebpfError(
        `object '${this.obj.name}' has no global variable '${name}'${sectionPrefix ? ` in ${sectionPrefix}` : ''}; ` +
        `available: ${avail.length ? avail.join(', ') : 'none'}`, { variable: name, available: avail });
    }
    throw new CorebpfError(
      `global variable '${name}' is ambiguous (${matches.map((g) => g.section).join(', ')}); name its section`,
      { variable: name, sections: matches.map((g) => g.section) });
  }

  /** the pending image of an internal map (its size follows setValueSize) */
  #pendingValue(mapName: string): Uint8Array {
    let v = this.pending.get(mapName);
    const m = this.#map(mapName);
    if (!v || v.byteLength !== m.valueSize) {
      const old = v;
      v = new Uint8Array(m.valueSize);
      if (old) v.set(old.subarray(0, m.valueSize));
      else if (m.initial) v.set(m.initial.subarray(0, m.valueSize));
      this.pending.set(mapName, v);
    }
    return v;
  }

  set(name: string, value: unknown, section?: string): void {
    const g = this.#find(name, section);
    const codec = this.#codec();
    if (this.obj.loaded) {
      const m = this.#map(g.map);
      if (m.freeze) {
        throw new CorebpfError(`global '${name}' (${g.section}) is read-only once loaded: set it before load()`, { variable: name });
      }
      const map = this.state.createdMap(g.map);
      const key = new Uint8Array(4);
      const cur = map.getRaw(key) ?? Buffer.alloc(m.valueSize);
      const bytes = Uint8Array.from(cur);
      this.#encode(codec, g, value, bytes);
      map.setRaw(key, bytes);
      return;
    }
    const bytes = this.#pendingValue(g.map);
    const scratch = Uint8Array.from(bytes);
    this.#encode(codec, g, value, scratch); // all or nothing: only copy back when it encoded
    bytes.set(scratch);
  }

  get(name: string, section?: string): BtfValue {
    const g = this.#find(name, section);
    const codec = this.#codec();
    const bytes = this.obj.loaded
      ? this.state.createdMap(g.map).getRaw(new Uint8Array(4)) ?? new Uint8Array(this.#map(g.map).valueSize)
      : this.#pendingValue(g.map);
    return codec.decode(g.typeId, bytes, g.offset);
  }

  #encode(codec: BtfCodec, g: GlobalRef, value: unknown, bytes: Uint8Array): void {
    try {
      codec.encode(g.typeId, value, bytes, g.offset, g.name);
    } catch (e) {
      if (e instanceof BtfCodecError) {
        throw new CorebpfError(`cannot set global '${g.name}' (${codec.typeName(g.typeId)} in ${g.section}): ${e.message}`,
          { variable: g.name, section: g.section }, { cause: e });
      }
      throw e;
    }
  }
}
