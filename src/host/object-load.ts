// BpfObject's load phase: replay its plan (the programs selected to load and, when a
// selection is given, only the maps they use; pending global values and reused fds in
// place of the plan's), then bind the created fds to the object's map and program handles.
import type { Btf } from '../btf/reader.js';
import type { LoadPlan } from '../plan.js';
import type { BtfCodec } from './btf-codec.js';
import { sectionOfInternal } from './globals.js';
import { BIND_MAP, BpfMap } from './map.js';
import type { LoadOptions } from './object-options.js';
import { mapsUsedBy, type OpenedObject } from './opened.js';
import { BIND_PROGRAM, Program, type ProgramOwner } from './program.js';
import { replayPlan } from './replay.js';

/** What the load phase reads of a BpfObject (its private state) and how it adopts handles. */
export interface ObjectLoadState {
  plan: LoadPlan;
  opened: OpenedObject | null;
  /** fromPlan objects: host-side autoload by plan program name */
  autoload: ReadonlyMap<string, boolean>;
  /** pending images of global-variable maps, by map name */
  pendingGlobals: Iterable<[string, Uint8Array]>;
  pinRoot: string | undefined;
  reusePins: boolean;
  btf: Btf | null;
  codec: () => BtfCodec | null;
  attachPrograms: readonly number[] | undefined;
  /** the object's handles, bound here (a handle is added for a map or program the plan
   *  has and the object did not list) */
  allMaps: BpfMap[];
  allPrograms: Program[];
  owner: ProgramOwner;
  adopt<T extends { close(): void }>(r: T): T;
}

/** Replay the object's plan, all or nothing, and bind the handles of what it created. */
export function replayObject(s: ObjectLoadState, opts: LoadOptions): { maps: BpfMap[]; programs: Program[] } {
  const { plan, opened: o } = s;
  const only = opts.programs ? new Set(opts.programs) : null;
  const loadProgram = (name: string) => (only ? only.has(name) : o ? true : s.autoload.get(name) ?? true);
  const selected = plan.programs.flatMap((p, i) => (loadProgram(p.name) ? [i] : []));
  const usedMaps = only ? mapsUsedBy(plan, selected) : null;
  const byName = (name: string) => plan.maps.findIndex((m) => m.name === name && !m.innerTemplate);
  const initialValues = new Map<number, Uint8Array>();
  for (const [name, v] of s.pendingGlobals) {
    const i = byName(name);
    if (i >= 0) initialValues.set(i, v);
  }
  const reuseFds = new Map<number, number>();
  for (const [name, fd] of o?.reuse ?? []) {
    const i = byName(name);
    if (i >= 0) reuseFds.set(i, fd);
  }
  const res = replayPlan(plan, {
    initialValues, pinRoot: s.pinRoot, reusePins: s.reusePins, btf: s.btf,
    loadProgram: (p) => loadProgram(p.name),
    loadMap: usedMaps ? (_m, i) => usedMaps.has(i) : undefined,
    reuseFds,
    attachPrograms: o ? o.targets : s.attachPrograms,
    programLogLevel: o ? (p) => o.state(p.name).logLevel || undefined : undefined,
    logLevel: opts.logLevel, logSize: opts.logSize,
  });
  res.btf?.close(); // maps and programs hold their own references to the BTF
  const maps: BpfMap[] = [];
  const programs: Program[] = [];
  plan.maps.forEach((m, i) => {
    const fd = res.maps[i];
    if (!fd) return;
    const pin = res.pins.find((p) => p.map === i);
    let h = s.allMaps.find((x) => x.name === m.name);
    if (!h) s.allMaps.push(h = new BpfMap(null, m));
    h[BIND_MAP](fd, { name: m.name, type: m.type, keySize: m.keySize, valueSize: m.valueSize, maxEntries: res.maxEntries[i]!, flags: m.flags }, {
      codec: m.btf ? s.codec() : null, btfKeyTypeId: m.btfKeyTypeId, btfValueTypeId: m.btfValueTypeId,
      sectionName: m.internal ? sectionOfInternal(m, s.btf) : null,
      pinnedPath: pin?.path ?? null,
    });
    maps.push(s.adopt(h));
  });
  plan.programs.forEach((p, i) => {
    const fd = res.programs[i];
    if (!fd) return;
    let h = s.allPrograms.find((x) => x.name === p.name);
    if (!h) s.allPrograms.push(h = new Program(null, p, '', s.owner));
    h[BIND_PROGRAM](fd, p, res.verifierLogs[i] ?? '');
    programs.push(s.adopt(h));
  });
  return { maps, programs };
}
