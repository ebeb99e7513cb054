// The load plan: what libbpf would have done to a kernel, as plain data (docs/load-plan.md).
// Produced by the worker (wasm/plan.c writes it), replayed by the host without WASM.
import { ObjectFormatError } from './errors.js';
import { validatePlan } from './plan-validate.js';

/** The `format` field of a load plan. */
export const PLAN_FORMAT = 'corebpf-load-plan';
/** The `version` field of the load plans this library writes and reads. */
export const PLAN_VERSION = 1;

/** Binary data in a plan is base64 text, so a plan is JSON as it is. */
export type Base64 = string;

/** An initial element of a plan map. */
export interface PlanMapInit {
  key: Base64;
  /** raw value bytes (absent when the value refers to a program or map) */
  value?: Base64;
  /** prog array: index into plan.programs whose fd goes in this slot */
  program?: number;
  /** map-in-map: index into plan.maps whose fd goes in this slot */
  map?: number;
  flags?: number;
}

/** A map of a load plan. */
export interface PlanMap {
  name: string;
  /** enum bpf_map_type */
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  /** BPF_F_* map flags */
  flags: number;
  numaNode: number;
  /** u64 as a decimal string */
  mapExtra: string;
  ifindex: number;
  /** created with the plan's BTF (btfKeyTypeId / btfValueTypeId refer to it) */
  btf: boolean;
  btfKeyTypeId: number;
  btfValueTypeId: number;
  btfVmlinuxValueTypeId: number;
  /** index of the inner-map template in plan.maps (map-in-map), or null */
  innerMap: number | null;
  /** created only as the inner-map template of another map, closed after it */
  innerTemplate: boolean;
  /** libbpf's internal map (.data, .rodata, .bss, .kconfig, custom .data.*) */
  internal: boolean;
  /** BPF_MAP_FREEZE after the initial contents are written */
  freeze: boolean;
  /** where libbpf would pin this map (LIBBPF_PIN_BY_NAME), or null */
  pinPath: string | null;
  /** BPF_MAP_UPDATE_ELEM calls to make after creation, in order */
  initial: PlanMapInit[];
  /** BPF_MAP_TYPE_STRUCT_OPS only (absent otherwise): the value that registers it */
  structOps?: PlanStructOps;
}

/**
 * A struct_ops map's value as libbpf writes it when it attaches the map
 * (bpf_map__attach_struct_ops): the kernel's `struct bpf_struct_ops_<name>` with the
 * object's data, and the 8-byte slots (zero in `value`) that take a program's fd.
 */
export interface PlanStructOps {
  /** valueSize bytes */
  value: Base64;
  /** `programs[program]`'s fd goes at byte `offset` of the value, as a u64 */
  programs: { offset: number; program: number }[];
}

/** An instruction that refers to a plan map (patched with the map's fd at load). */
export interface PlanMapRef {
  /** index of the ld_imm64 instruction whose imm holds the map index */
  insn: number;
  map: number;
}

/** func_info or line_info records of a program, as the kernel takes them. */
export interface PlanInfoBlob {
  recSize: number;
  data: Base64;
}

/** A program of a load plan, with its final instructions. */
export interface PlanProgram {
  name: string;
  section: string;
  /** enum bpf_prog_type */
  type: number;
  /** enum bpf_attach_type */
  expectedAttachType: number;
  /** BTF id in the target kernel's BTF (tp_btf, fentry, lsm, ...), 0 if none */
  attachBtfId: number;
  license: string;
  kernVersion: number;
  flags: number;
  ifindex: number;
  /** loaded with the plan's BTF (func_info / line_info refer to it) */
  btf: boolean;
  /** the ld_imm64 instructions that reference maps; their imm is a plan.maps index */
  mapRefs: PlanMapRef[];
  /** final instructions (struct bpf_insn[], little- or big-endian as the object) */
  insns: Base64;
  funcInfo: PlanInfoBlob | null;
  lineInfo: PlanInfoBlob | null;
  /** maps to BPF_PROG_BIND_MAP after load (e.g. .rodata not referenced by code) */
  boundMaps: number[];
  /** attach_prog_fd: the loaded program a freplace (or fentry) program extends, as its index
   *  in the relocation's targetPrograms; the replay is given that program's fd (absent: none) */
  attachProgram?: number;
  /** kernel module BTF objects the program needs, by module name (absent when none) */
  moduleBtf?: {
    /** attach_btf_obj_fd: the module whose BTF attachBtfId is in (fentry/fexit on a module function) */
    attach?: string;
    /** ld_imm64 BPF_PSEUDO_BTF_ID (typed ksym in a module): the second imm takes the module's BTF fd */
    insns: { insn: number; module: string }[];
    /** fd_array of BPF_PROG_LOAD: kfunc calls into modules index it with insn.off; null: unused */
    fdArray: (string | null)[];
  };
}

/** A CO-RE relocation kind (libbpf's `enum bpf_core_relo_kind`, lower case without the BPF_CORE_ prefix). */
export type RelocationKind =
  | 'field_byte_offset' | 'field_byte_size' | 'field_exists' | 'field_signed'
  | 'field_lshift_u64' | 'field_rshift_u64' | 'type_id_local' | 'type_id_target'
  | 'type_exists' | 'type_size' | 'enumval_exists' | 'enumval_value' | 'type_matches';

/** One CO-RE relocation: where, what kind, the access path, and the local and target values (or why it failed). */
export interface RelocationRecord {
  program: string;
  /** index of the relocation in its ELF section's CO-RE records */
  relo: number;
  /** instruction index in the (sub)program, null if libbpf stopped before patching */
  insn: number | null;
  kind: RelocationKind;
  /** local root type, e.g. "struct task_struct" */
  type: string;
  localTypeId: number;
  /** C-like access path: "task_struct.real_parent", "pid_type::PIDTYPE_TGID" */
  access: string;
  /** the raw access string from .BTF.ext, e.g. "0:54" */
  rawAccess: string;
  status: 'resolved' | 'failed';
  /** u64 values as decimal strings: the value compiled in, and the one for the target */
  local: string | null;
  target: string | null;
  /** target types with the same essential name and a compatible kind */
  candidates: number;
  /** candidates that matched the access path */
  matched: number;
  targetSpec?: string;
  targetTypeId?: number;
  localSize?: number;
  targetSize?: number;
  /** libbpf poisoned the instruction (verifier rejects it if reached) */
  poisoned?: boolean;
  reason?: string;
  /** failed and poisoned: the poisoned instruction is dead code in every program that carries
   * it (true), or may run (false), after constant propagation over the final instructions
   * (src/analysis/reach.ts); absent when not analyzed (libbpf stopped: no plan) */
  guarded?: boolean;
  /** guarded false: a path to the poisoned instruction, as instruction indexes of an entry
   * program's final instructions (the branches, jumps and calls taken, then the instruction) */
  reachPath?: { program: string; insns: number[] };
  /** why the analysis decided as it did, when it is not the plain answer */
  reachNote?: string;
}

/** What a plan was made from (absent in plans written before corebpf recorded it). */
export interface PlanSources {
  /** sha256 (hex) of the BPF object */
  object: string;
  /** sha256 (hex) of the target kernel BTF it was relocated against (decompressed bytes) */
  btf: string;
}

/** A load plan: everything the host needs to load a relocated object (docs/load-plan.md). */
export interface LoadPlan {
  format: typeof PLAN_FORMAT;
  version: typeof PLAN_VERSION;
  object: string;
  kernel: { release: string; version: string; machine: string; pageSize: number };
  /** byte order of the object and of everything binary in the plan (insns, BTF, values) */
  byteOrder: 'little' | 'big';
  /** the object's BTF as libbpf sanitized it for the target, or null */
  btf: Base64 | null;
  maps: PlanMap[];
  programs: PlanProgram[];
  relocations: RelocationRecord[];
  /** sha256 of the object and target BTF (optional: added within version 1) */
  sources?: PlanSources;
}

/** A load plan as JSON text (what {@link parsePlan} reads back). */
export function serializePlan(plan: LoadPlan): string {
  return JSON.stringify(plan, null, 1) + '\n';
}

/** Parse and check a plan file's text (every field: see plan-validate.ts). Throws
 * ObjectFormatError naming the field when it is not a valid plan. */
export function parsePlan(text: string | Uint8Array): LoadPlan {
  const s = typeof text === 'string' ? text : new TextDecoder().decode(text);
  let v: unknown;
  try {
    v = JSON.parse(s);
  } catch (e) {
    throw new ObjectFormatError(`not a load plan: invalid JSON (${(e as Error).message})`, {}, { cause: e });
  }
  return checkPlan(v);
}

/** Check a plan given as a value (untrusted like a file: a LoadPlan object can come from
 * anywhere). Returns it typed; throws ObjectFormatError naming the bad field. */
export function checkPlan(v: unknown): LoadPlan {
  const p = v as Partial<LoadPlan>;
  if (typeof p !== 'object' || p === null || p.format !== PLAN_FORMAT) {
    throw new ObjectFormatError(`not a load plan: "format" is not "${PLAN_FORMAT}"`);
  }
  if (p.version !== PLAN_VERSION) {
    throw new ObjectFormatError(
      `load plan version ${String(p.version)} is not supported (this corebpf reads version ${PLAN_VERSION}); relocate the object again`,
      { version: p.version });
  }
  return validatePlan(p);
}

/** Bytes of a base64 field. */
export function planBytes(b64: Base64): Uint8Array {
  const b = Buffer.from(b64, 'base64');
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}
