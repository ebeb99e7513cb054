// Plan replay: do to the real kernel what libbpf did to the virtual one, all or nothing.
//
//   1. BPF_BTF_LOAD the plan's BTF
//   2. maps in plan order: reuse a compatible pinned map (pinPath), else create it (an
//      inner-map template is created just before the first map that names it and closed
//      once all maps exist, as libbpf does); write `initial` values (map-in-map slots
//      take the fds of maps created before), freeze where `freeze`; pin new maps
//   3. programs: patch map fds into the ld_imm64 instructions of `mapRefs` (the imm holds
//      the plan map index), BPF_PROG_LOAD with func/line info against the plan's BTF,
//      BPF_PROG_BIND_MAP for `boundMaps`; verifier rejections are explained (verifier.ts)
//   4. prog-array slots (initial values naming programs), then the deferred freezes
//
// On any failure everything created so far is closed, pins made by this replay are
// removed, and the error is rethrown.
import { ownMapFd } from './attach.js';
import { explainUnsupported } from './kernel-support.js';
import { endianness } from 'node:os';
import { unlinkSync } from 'node:fs';
import type { Btf } from '../btf/reader.js';
import { CorebpfError, NotSupportedError, ObjectFormatError, SyscallError, VerifierError } from '../errors.js';
import { planBytes, type LoadPlan, type PlanMap, type PlanProgram } from '../plan.js';
import * as A from './attr.js';
import { OwnedFd } from './fd.js';
import { bumpMemlockRlimit } from './memlock.js';
import { applyModuleBtf, ModuleBtfFds } from './module-btf.js';
import * as U from './generated/uapi.js';
import { ensurePinDir, resolvePinPath } from './pin-path.js';
import { effectiveMaxEntries, patchMapRefs, pinnedMapMismatches } from './plan-map.js';
import { explainStructOpsMapCreate } from './link/struct-ops.js';
import { getSyscalls } from './syscall.js';
import { explainVerifierError } from './verifier.js';

export { BPF_FS_MAGIC, isBpffs, resolvePinPath } from './pin-path.js';

/** Options of {@link replayPlan}. */
export interface ReplayOptions {
  /** replacement initial values (whole value bytes) by plan map index: global variables */
  initialValues?: ReadonlyMap<number, Uint8Array>;
  /** directory to pin LIBBPF_PIN_BY_NAME maps in, instead of the plan's; the plan's own
   * pin paths must lie inside /sys/fs/bpf */
  pinRoot?: string;
  /** reuse a compatible map already pinned at a map's pin path (libbpf's behaviour). Off by
   * default: reusing a pin gives the plan's programs a map somebody else made; BpfObject
   * turns it on for plans made in this process. Without it an existing pin is an error. */
  reusePins?: boolean;
  /** which programs to load (default: all) */
  loadProgram?: (prog: PlanProgram, index: number) => boolean;
  /** which maps to create (default: all; selective loading leaves out maps no loaded
   *  program uses) */
  loadMap?: (map: PlanMap, index: number) => boolean;
  /** existing maps to use instead of creating them (libbpf's bpf_map__reuse_fd), by plan
   *  map index: the fd is duplicated (by id), the caller keeps its own */
  reuseFds?: ReadonlyMap<number, number>;
  /** a program's own verifier log level (bpf_program__set_log_level), else logLevel */
  programLogLevel?: (prog: PlanProgram, index: number) => number | undefined;
  /** verifier log level for every program (the log is kept even on success) */
  logLevel?: number;
  /** size of that log buffer (default 1 MiB) */
  logSize?: number;
  /** the plan's BTF, parsed (source lines and relocation names in verifier errors) */
  btf?: Btf | null;
  /** fds of the loaded programs freplace programs extend, by the plan's attachProgram */
  attachPrograms?: readonly number[];
}

/** A map pinned (or reused from its pin) by a replay. */
export interface PinRecord {
  map: number;
  path: string;
  /** an existing pinned map was reused (else this replay created and pinned the map) */
  reused: boolean;
}

/** What {@link replayPlan} created: fds by plan index, and the pins. */
export interface ReplayResult {
  btf: OwnedFd | null;
  /** by plan map index; null for inner-map templates (closed) */
  maps: (OwnedFd | null)[];
  /** by plan program index; null for programs not loaded */
  programs: (OwnedFd | null)[];
  /** by plan program index: the verifier log when logLevel was given */
  verifierLogs: string[];
  pins: PinRecord[];
  /** effective attributes of each map (max_entries may be adjusted to this machine) */
  maxEntries: number[];
}

/** The byte order of a plan (from its BTF magic; null when it has no BTF). */
export function planEndianness(plan: LoadPlan): 'LE' | 'BE' | null {
  if (!plan.btf) return null;
  const b = planBytes(plan.btf.slice(0, 4)); // the magic: 2 bytes of 4 base64 characters
  if (b.length < 2) return null;
  if (b[0] === 0x9f && b[1] === 0xeb) return 'LE';
  if (b[0] === 0xeb && b[1] === 0x9f) return 'BE';
  return null;
}

function u32(v: number): Uint8Array {
  const b = A.bytes(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return b;
}

function isErrno(e: unknown, ...names: string[]): boolean {
  return e instanceof SyscallError && names.includes(e.errnoName);
}

/** Replay a load plan against the running kernel. All or nothing. */
export function replayPlan(plan: LoadPlan, opts: ReplayOptions = {}): ReplayResult {
  const order = planEndianness(plan);
  const host = endianness();
  if (order !== null && order !== host) {
    throw new NotSupportedError(
      `load plan '${plan.object}' is ${order === 'BE' ? 'big' : 'little'}-endian but this machine is ${host === 'BE' ? 'big' : 'little'}-endian: ` +
      'relocate the object built for this byte order', { feature: 'endianness' });
  }

  // pin paths are checked before anything is created
  for (const m of plan.maps) resolvePinPath(m.pinPath, opts.pinRoot, m.name);

  const sys = getSyscalls();
  bumpMemlockRlimit(); // before the first BTF or map, as libbpf's bpf_btf_load()/bpf_map_create()
  const moduleBtfs = new ModuleBtfFds();
  const nmaps = plan.maps.length;
  const res: ReplayResult = {
    btf: null, maps: new Array(nmaps).fill(null), programs: new Array(plan.programs.length).fill(null),
    verifierLogs: new Array(plan.programs.length).fill(''), pins: [], maxEntries: plan.maps.map((m) => m.maxEntries),
  };
  const templates = new Map<number, OwnedFd>();
  const reused = new Set<number>();
  const pinnedHere: string[] = [];
  /** what the replay is doing: a failed syscall says it (which map, which program) */
  let step = 'loading the BTF';

  const fail = (e: unknown): never => {
    const fds: (OwnedFd | null)[] = [res.btf, ...templates.values(), ...res.maps, ...res.programs];
    for (const f of fds.reverse()) {
      try {
        f?.close();
      } catch { /* keep the first error */ }
    }
    for (const p of pinnedHere) {
      try {
        unlinkSync(p);
      } catch { /* already gone */ }
    }
    throw e instanceof SyscallError && !(e instanceof VerifierError) ? withStep(e, step, plan.object) : e;
  };

  try {
    // 1. BTF
    const needBtf = plan.btf !== null && (plan.maps.some((m) => m.btf) || plan.programs.some((p) => p.btf));
    if (needBtf) res.btf = A.btfLoad({ btf: planBytes(plan.btf!) });
    const btfFd = res.btf ? res.btf.fd : 0;

    // 2. maps
    const pageSize = sys.pageSize();
    const effective = (i: number): number => {
      return effectiveMaxEntries(plan.maps[i]!, () => sys.possibleCpus(), pageSize);
    };
    const createRaw = (i: number, innerFd: number): OwnedFd => {
      const m = plan.maps[i]!;
      const base: A.MapCreateOptions = {
        mapType: m.type, keySize: m.keySize, valueSize: m.valueSize, maxEntries: effective(i), mapFlags: m.flags,
        innerMapFd: innerFd, numaNode: m.numaNode, name: m.name, ifindex: m.ifindex, mapExtra: BigInt(m.mapExtra),
        btfVmlinuxValueTypeId: m.btfVmlinuxValueTypeId,
      };
      const withBtf = m.btf && btfFd > 0 && (m.btfKeyTypeId || m.btfValueTypeId || m.btfVmlinuxValueTypeId);
      if (!withBtf) return A.mapCreate(base);
      try {
        return A.mapCreate({ ...base, btfFd, btfKeyTypeId: m.btfKeyTypeId, btfValueTypeId: m.btfValueTypeId });
      } catch (e) {
        // libbpf retries without BTF when the kernel refuses the map's BTF
        if (!(e instanceof SyscallError) || isErrno(e, 'EPERM') || m.type === U.BPF_MAP_TYPE_STRUCT_OPS || m.btfVmlinuxValueTypeId) throw e;
        try {
          return A.mapCreate(base);
        } catch {
          throw e;
        }
      }
    };
    const template = (j: number): number => {
      let t = templates.get(j);
      if (!t) {
        const tm = plan.maps[j]!;
        if (tm.innerMap !== null) throw new ObjectFormatError(`load plan: inner-map template '${tm.name}' has an inner map itself`);
        t = createRaw(j, 0);
        templates.set(j, t);
      }
      return t.fd;
    };

    for (let i = 0; i < nmaps; i++) {
      const m = plan.maps[i]!;
      if (m.innerTemplate) continue;
      if (opts.loadMap && !opts.loadMap(m, i)) continue;
      res.maxEntries[i] = effective(i);
      step = `creating map '${m.name}'`;
      const reuseFd = opts.reuseFds?.get(i);
      if (reuseFd !== undefined) {
        const info = A.mapInfo(reuseFd);
        const diff = pinnedMapMismatches(info, {
          type: m.type, keySize: m.keySize, valueSize: m.valueSize, maxEntries: res.maxEntries[i]!, flags: m.flags, mapExtra: BigInt(m.mapExtra),
        });
        if (diff.length) {
          throw new CorebpfError(`cannot reuse fd ${reuseFd} for map '${m.name}': it is incompatible (${diff.map((d) => d.replace(' (pinned)', ' (reused)')).join('; ')})`,
            { map: m.name, mismatches: diff });
        }
        res.maps[i] = ownMapFd(reuseFd);
        res.maxEntries[i] = info.maxEntries;
        reused.add(i);
        continue;
      }
      const pinPath = resolvePinPath(m.pinPath, opts.pinRoot, m.name);
      if (pinPath !== null) {
        let pinned: OwnedFd | null = null;
        try {
          pinned = A.objGet(pinPath, 0, 'map');
        } catch (e) {
          if (!isErrno(e, 'ENOENT')) throw e;
        }
        if (pinned && !opts.reusePins) {
          pinned.close();
          throw new CorebpfError(
            `a map is already pinned at '${pinPath}' (map '${m.name}'), and reusing pins is off for this plan ` +
            '(it was not made in this process): pass reusePins: true to reuse it, or remove the pin, or give another pin root',
            { map: m.name, path: pinPath });
        }
        if (pinned) {
          res.maps[i] = pinned;
          let info: A.MapInfo;
          try {
            info = A.mapInfo(pinned.fd);
          } catch (e) {
            throw new CorebpfError(`'${pinPath}' is not a BPF map (cannot reuse it for map '${m.name}')`, { map: m.name, path: pinPath }, { cause: e });
          }
          const diff = pinnedMapMismatches(info, {
            type: m.type, keySize: m.keySize, valueSize: m.valueSize, maxEntries: res.maxEntries[i]!, flags: m.flags, mapExtra: BigInt(m.mapExtra),
          });
          if (diff.length) {
            throw new CorebpfError(
              `cannot reuse the map pinned at '${pinPath}' for map '${m.name}': it is incompatible (${diff.join('; ')}); ` +
              'remove the pin or give another pin root', { map: m.name, path: pinPath, mismatches: diff });
          }
          reused.add(i);
          res.pins.push({ map: i, path: pinPath, reused: true });
          continue;
        }
      }
      try {
        res.maps[i] = createRaw(i, m.innerMap !== null ? template(m.innerMap) : 0);
      } catch (e) {
        throw explainStructOpsMapCreate(m, e) ?? e;
      }
    }

    // initial contents (values and map-in-map slots), freezes, pins
    const deferredFreeze: number[] = [];
    for (let i = 0; i < nmaps; i++) {
      const m = plan.maps[i]!;
      const fd = res.maps[i];
      if (!fd || reused.has(i)) continue;
      const override = opts.initialValues?.get(i);
      step = `writing the initial contents of map '${m.name}'`;
      let hasProgs = false;
      let overridden = false;
      for (const init of m.initial) {
        const key = planBytes(init.key);
        const flags = init.flags ?? U.BPF_ANY;
        if (init.program !== undefined) {
          hasProgs = true;
          continue;
        }
        if (init.map !== undefined) {
          const inner = res.maps[init.map];
          if (!inner) throw new ObjectFormatError(`load plan map '${m.name}': slot refers to map '${plan.maps[init.map]!.name}', which was not created`);
          A.mapUpdateElem(fd.fd, key, u32(inner.fd), flags);
          continue;
        }
        let value = init.value !== undefined ? planBytes(init.value) : A.bytes(m.valueSize);
        if (override && !overridden) {
          value = override;
          overridden = true;
        }
        A.mapUpdateElem(fd.fd, key, value, flags);
      }
      if (override && !overridden) A.mapUpdateElem(fd.fd, u32(0), override, U.BPF_ANY);
      if (m.freeze) {
        if (hasProgs) deferredFreeze.push(i);
        else A.mapFreeze(fd.fd);
      }
    }
    for (const t of templates.values()) t.close();
    templates.clear();
    for (let i = 0; i < nmaps; i++) {
      const m = plan.maps[i]!;
      const fd = res.maps[i];
      const pinPath = resolvePinPath(m.pinPath, opts.pinRoot, m.name);
      if (!fd || pinPath === null || reused.has(i)) continue;
      step = `pinning map '${m.name}' at '${pinPath}'`;
      ensurePinDir(pinPath, opts.pinRoot, m.name);
      A.objPin(fd.fd, pinPath);
      pinnedHere.push(pinPath);
      res.pins.push({ map: i, path: pinPath, reused: false });
    }

    // 3. programs
    for (let pi = 0; pi < plan.programs.length; pi++) {
      const p = plan.programs[pi]!;
      if (opts.loadProgram && !opts.loadProgram(p, pi)) continue;
      step = `loading program '${p.name}'`;
      const insns = Uint8Array.from(planBytes(p.insns));
      patchMapRefs(plan, p, insns, res.maps);
      const modRefs = applyModuleBtf(p, insns, moduleBtfs);
      const useBtf = p.btf && btfFd > 0;
      const info = (b: { recSize: number; data: string } | null): A.InfoRecords | undefined => {
        if (!useBtf || !b || !b.recSize) return undefined;
        const data = planBytes(b.data);
        return { data, recSize: b.recSize, count: Math.floor(data.byteLength / b.recSize) };
      };
      const logLevel = opts.programLogLevel?.(p, pi) || opts.logLevel;
      const logBuf = logLevel ? A.bytes(opts.logSize ?? 1 << 20) : null;
      try {
        res.programs[pi] = A.progLoad({
          progType: p.type, insns, license: p.license, name: p.name, expectedAttachType: p.expectedAttachType,
          progFlags: p.flags, ifindex: p.ifindex, kernVersion: p.kernVersion, progBtfFd: useBtf ? btfFd : 0,
          funcInfo: info(p.funcInfo), lineInfo: info(p.lineInfo), attachBtfId: p.attachBtfId,
          logBuf, logLevel, ...modRefs, ...attachProgOf(plan, p, opts.attachPrograms),
        });
      } catch (e) {
        if (e instanceof VerifierError) throw explainVerifierError(e, plan, pi, opts.btf ?? null);
        // e.g. fentry/lsm on a kernel without trampolines: say what the kernel lacks
        throw explainUnsupported(p.type, p.expectedAttachType, e) ?? e;
      }
      if (logBuf) res.verifierLogs[pi] = A.cStringAt(logBuf);
      for (const mi of p.boundMaps) {
        const mfd = res.maps[mi];
        if (mfd) A.progBindMap(res.programs[pi]!.fd, mfd.fd);
      }
    }

    moduleBtfs.close(); // the programs hold their own references
    // 4. prog arrays, then the freezes that waited for them
    for (let i = 0; i < nmaps; i++) {
      const m = plan.maps[i]!;
      const fd = res.maps[i];
      if (!fd || reused.has(i)) continue;
      step = `filling the program slots of map '${m.name}'`;
      for (const init of m.initial) {
        if (init.program === undefined) continue;
        const prog = res.programs[init.program];
        if (!prog) continue; // not loaded (autoload off): the slot stays empty
        A.mapUpdateElem(fd.fd, planBytes(init.key), u32(prog.fd), init.flags ?? U.BPF_ANY);
      }
    }
    step = 'freezing maps';
    for (const i of deferredFreeze) A.mapFreeze(res.maps[i]!.fd);
  } catch (e) {
    moduleBtfs.close();
    fail(e);
  }
  return res;
}

/** The same error (same class, details and cause), saying which step of the replay failed. */
/** attach_prog_fd of a freplace program: the caller's fd for the plan's target slot. */
function attachProgOf(plan: LoadPlan, p: PlanProgram, fds: readonly number[] | undefined): { attachProgFd?: number } {
  if (p.attachProgram === undefined) return {};
  const fd = fds?.[p.attachProgram];
  if (fd === undefined || !Number.isInteger(fd) || fd <= 0) {
    throw new CorebpfError(`load plan '${plan.object}': program '${p.name}' extends a loaded program (its target #${p.attachProgram}, ` +
      'a freplace/fentry target set with setAttachTarget(func, program)); give that program\'s fd in attachPrograms', { program: p.name });
  }
  return { attachProgFd: fd };
}

function withStep(e: SyscallError, step: string, object: string): SyscallError {
  const Ctor = e.constructor as new (message: string, details: Record<string, unknown>, options?: { cause?: unknown }) => SyscallError;
  const err = new Ctor(`load plan '${object}': ${step}: ${e.message}`, { ...e.details, step }, { cause: e.cause });
  return err;
}
