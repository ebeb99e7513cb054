// libbpf's open phase on the host side: an opened object's programs and maps as libbpf
// read them (bpf_object__open in the worker, src/object-spec.ts), the adjustments made to
// them since (recorded as plain data, src/adjust.ts, applied at load by libbpf's own
// setters in the worker), and selective loading (the maps the chosen programs use).
import { disablePrograms, mergeAdjustments, type Adjustments, type MapAdjustment, type ProgramAdjustment } from '../adjust.js';
import { CorebpfError } from '../errors.js';
import { effectiveMap, effectiveProgram, type ObjectSpec } from '../object-spec.js';
import type { LoadPlan } from '../plan.js';
import type { RelocateOptions, RelocateResult, Relocator } from '../relocate.js';
import type { MapAdjuster } from './map-adjust.js';
import { loadedProgramBtf } from './prog-btf.js';
import type { OpenedProgramState, ProgramAdjuster } from './program.js';

export class OpenedObject implements ProgramAdjuster, MapAdjuster {
  #adjust: Adjustments = {};
  /** bpf_map__reuse_fd: map name -> the caller's fd */
  readonly reuse = new Map<string, number>();
  /** fds of the loaded programs freplace programs extend, by slot (attachProgram) */
  readonly targets: number[] = [];
  /** bumped on every change: a plan relocated before it is stale */
  version = 0;

  constructor(
    readonly spec: ObjectSpec,
    readonly bytes: Uint8Array,
    readonly relocOpts: RelocateOptions,
    readonly relocator: Relocator,
  ) {
    this.#adjust = mergeAdjustments(undefined, relocOpts.adjustments);
  }

  get adjustments(): Adjustments {
    return this.#adjust;
  }

  #program(name: string) {
    const p = this.spec.programs.find((x) => x.name === name);
    if (!p) throw new CorebpfError(`object '${this.spec.object}' has no program '${name}' (programs: ${this.spec.programs.map((x) => x.name).join(', ')})`, { program: name });
    return p;
  }

  #map(name: string) {
    const m = this.spec.maps.find((x) => x.name === name);
    if (!m) throw new CorebpfError(`object '${this.spec.object}' has no map '${name}' (maps: ${this.spec.maps.map((x) => x.name).join(', ')})`, { map: name });
    return m;
  }

  state(name: string): OpenedProgramState {
    return effectiveProgram(this.#program(name), this.#adjust);
  }

  adjustProgram(name: string, a: ProgramAdjustment): void {
    this.#program(name);
    this.#adjust = mergeAdjustments(this.#adjust, { programs: { [name]: a } });
    this.version++;
  }

  /** the slot of a loaded target program (bpf_program__set_attach_target's attach_prog_fd) */
  targetProgram(fd: number): number {
    const i = this.targets.indexOf(fd);
    return i >= 0 ? i : this.targets.push(fd) - 1;
  }

  adjustMap(name: string, ma: MapAdjustment): ReturnType<MapAdjuster['adjustMap']> {
    const m = this.#map(name);
    if (ma.innerMap && !m.innerMap) {
      throw new CorebpfError(`map '${name}' has no inner-map template (it is not a map-in-map declared with __array(values, ...))`, { map: name });
    }
    this.#adjust = mergeAdjustments(this.#adjust, { maps: { [name]: ma } });
    this.version++;
    return effectiveMap(m, this.#adjust);
  }

  /** a map's attributes with the adjustments so far */
  mapState(name: string) {
    return effectiveMap(this.#map(name), this.#adjust);
  }

  reuseFd(name: string, fd: number): void {
    this.#map(name);
    this.reuse.set(name, fd);
    this.version++;
  }

  /** Relocate with the adjustments; `programs`: load only these (the others turned off). */
  async relocate(programs?: readonly string[]): Promise<RelocateResult> {
    let adj = this.#adjust;
    if (programs) {
      for (const n of programs) this.#program(n);
      const keep = new Set(programs);
      adj = disablePrograms(mergeAdjustments(adj, { programs: Object.fromEntries(programs.map((n) => [n, { autoload: true }])) }),
        this.spec.programs.filter((p) => !keep.has(p.name)).map((p) => p.name));
    }
    // the targets' BTF as the kernel has it now: libbpf reads it at the same point
    const targetPrograms = this.targets.map((fd, i) => loadedProgramBtf(fd, `target program #${i} (fd ${fd})`));
    return this.relocator.relocate(this.bytes, {
      ...this.relocOpts, objectName: this.relocOpts.objectName ?? this.spec.object, adjustments: adj,
      ...(targetPrograms.length ? { targetPrograms } : {}),
    });
  }
}

/** Plan map indexes the given plan programs need: the maps their instructions name, the
 *  maps bound to them, and what those maps hold (inner maps, inner-map templates). */
export function mapsUsedBy(plan: LoadPlan, programIndexes: Iterable<number>): Set<number> {
  const used = new Set<number>();
  const add = (i: number) => {
    if (i < 0 || used.has(i)) return;
    used.add(i);
    const m = plan.maps[i]!;
    if (m.innerMap !== null) add(m.innerMap);
    for (const init of m.initial) if (init.map !== undefined) add(init.map);
  };
  for (const pi of programIndexes) {
    const p = plan.programs[pi]!;
    for (const r of p.mapRefs) add(r.map);
    for (const b of p.boundMaps) add(b);
  }
  return used;
}
