// The handles of an object's programs and maps before load: an opened object's (adjustable
// through it, libbpf's open phase) or a load plan's (relocated already: only autoload changes);
// and finding one by name, among those handles before load or those load() kept after.
import type { Btf } from '../btf/reader.js';
import { CorebpfError } from '../errors.js';
import type { LoadPlan } from '../plan.js';
import type { BtfCodec } from './btf-codec.js';
import { sectionOfInternal } from './globals.js';
import { BpfMap, OPENED_MAP } from './map.js';
import type { OpenedObject } from './opened.js';
import { Program, type ProgramAdjuster, type ProgramOwner } from './program.js';

/** Handles of the object's programs, in libbpf's order (bound to fds at load). */
export function programHandles(o: OpenedObject | null, plan: LoadPlan | null, owner: ProgramOwner, objectName: string,
  autoload: Map<string, boolean>): Program[] {
  if (o) {
    return o.spec.programs.map((p) => new Program(null, { name: p.name, section: p.section, type: p.type, expectedAttachType: p.expectedAttachType, attachBtfId: 0 }, '', owner, o));
  }
  // a load plan is relocated already: only autoload can still change (host side)
  const planAdjuster: ProgramAdjuster = {
    state: (name) => {
      const p = plan!.programs.find((x) => x.name === name)!;
      const i = p.section.indexOf('/');
      return { type: p.type, expectedAttachType: p.expectedAttachType, autoload: autoload.get(name) ?? true, attachTarget: i >= 0 ? p.section.slice(i + 1) : null, logLevel: 0 };
    },
    adjustProgram: (name, a) => {
      const keys = Object.keys(a).filter((k) => k !== 'autoload');
      if (keys.length) throw new CorebpfError(`object '${objectName}' comes from a load plan, relocated already: only autoload can change; open the object (BpfObject.open) or relocate it with adjustments`, { program: name });
      autoload.set(name, a.autoload!);
    },
    targetProgram: () => {
      throw new CorebpfError(`object '${objectName}' comes from a load plan, relocated already: its freplace targets are resolved; give the target programs' fds as fromPlan(plan, { attachPrograms })`);
    },
  };
  return plan!.programs.map((p) => new Program(null, p, '', owner, planAdjuster));
}

/** Handles of the object's maps (not inner-map templates), in libbpf's order. */
export function mapHandles(o: OpenedObject | null, plan: LoadPlan | null, codec: BtfCodec | null, btf: Btf | null): BpfMap[] {
  if (o) {
    return o.spec.maps.map((m) => {
      const st = o.mapState(m.name); // with the adjustments open() was given
      const h = new BpfMap(null, st, {
        codec: codec && m.btfValueTypeId ? codec : null, btfKeyTypeId: m.btfKeyTypeId, btfValueTypeId: m.btfValueTypeId,
        sectionName: m.internal ? sectionOfInternal(m, btf) : null,
      }, o);
      h[OPENED_MAP](st.pinPath, st.autocreate, st.innerMap);
      return h;
    });
  }
  return plan!.maps.filter((m) => !m.innerTemplate).map((m) => new BpfMap(null, m, {
    codec: m.btf ? codec : null, btfKeyTypeId: m.btfKeyTypeId, btfValueTypeId: m.btfValueTypeId,
    sectionName: m.internal ? sectionOfInternal(m, btf) : null, pinnedPath: m.pinPath,
  }));
}

/** A program handle by name (before load, or any of the object's). */
export function programHandle(objectName: string, all: readonly Program[], name: string): Program {
  const p = all.find((x) => x.name === name);
  if (!p) throw new CorebpfError(`object '${objectName}' has no program '${name}' (programs: ${all.map((x) => x.name).join(', ')})`, { program: name });
  return p;
}

/** A map by name, or an internal map by section: `created` is what load() created, null before load. */
export function findMap(objectName: string, created: readonly BpfMap[] | null, all: readonly BpfMap[], name: string): BpfMap {
  const list = created ?? all;
  const m = list.find((x) => x.name === name) ?? list.find((x) => x.sectionName === name);
  if (!m) {
    const notCreated = created && all.some((x) => x.name === name || x.sectionName === name);
    throw new CorebpfError(notCreated
      ? `map '${name}' of object '${objectName}' was not created (no program loaded uses it, or autocreate is off)`
      : `object '${objectName}' has no map '${name}' (maps: ${list.map((x) => x.sectionName ?? x.name).join(', ')})`, { map: name });
  }
  return m;
}

/** A program by name: `loaded` is what load() loaded, null before load. */
export function findProgram(objectName: string, loaded: readonly Program[] | null, all: readonly Program[], name: string): Program {
  if (!loaded) return programHandle(objectName, all, name);
  const p = loaded.find((x) => x.name === name);
  if (!p) {
    const notLoaded = all.some((x) => x.name === name);
    throw new CorebpfError(notLoaded
      ? `program '${name}' of object '${objectName}' was not loaded (autoload off)`
      : `object '${objectName}' has no program '${name}' (programs: ${loaded.map((x) => x.name).join(', ')})`);
  }
  return p;
}

/** A map load() created, by name (global variables read and write its value after load). */
export function createdMap(created: readonly BpfMap[] | null, name: string): BpfMap {
  const m = created?.find((x) => x.name === name);
  if (!m) throw new CorebpfError(`map '${name}' was not created`);
  return m;
}
