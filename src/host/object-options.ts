// What BpfObject.open(), fromPlan() and load() take, and the options of its record readers.
import type { RelocateOptions, Relocator } from '../relocate.js';
import type { PlanExpectation } from '../plan-validate.js';
import type { PerfBufferOptions } from './perfbuf.js';

/** Options of loading an object: initial global values and what the plan is expected to be. */
export interface ObjectOptions {
  /** values of `const volatile` globals (.rodata*) to set before load */
  rodata?: Record<string, unknown>;
  /** initial values of .data* globals */
  data?: Record<string, unknown>;
  /** initial values of .bss* globals */
  bss?: Record<string, unknown>;
  /** directory for LIBBPF_PIN_BY_NAME maps (default: the plan's, /sys/fs/bpf) */
  pinRoot?: string;
  /** raw Buffers for every key and value (no BTF decoding) */
  raw?: boolean;
  /** reuse compatible maps already pinned at the plan's pin paths (default: only for plans
   * made in this process; a plan from elsewhere could otherwise take over another tool's map) */
  reusePins?: boolean;
  /** fromPlan: refuse a plan not made from this object / target BTF (sha256 hex, or the bytes) */
  expect?: PlanExpectation;
  /** fromPlan: fds of the loaded programs the plan's freplace programs extend, by their
   *  attachProgram (open(): setAttachTarget(func, program) instead) */
  attachPrograms?: readonly number[];
}

/** Options of {@link BpfObject.open}: the relocation options and the object options. */
export interface OpenOptions extends RelocateOptions, Omit<ObjectOptions, 'expect' | 'attachPrograms'> {
  /** relocate with this Relocator (default: a shared one) */
  relocator?: Relocator;
}

/** Options of `BpfObject.load()`. */
export interface LoadOptions {
  /** load only these programs and the maps they use, like cilium/ebpf's LoadAndAssign
   *  (default: the programs with autoload on, and every map) */
  programs?: readonly string[];
  /** verifier log level for every program; the log is kept on Program.verifierLog */
  logLevel?: number;
  logSize?: number;
}

/** Options of an object's ring or perf buffer reader: how records are decoded. */
export interface RecordBufferOptions extends PerfBufferOptions {
  /** decode records as this BTF type of the object (e.g. 'event' or 'struct event') */
  type?: string;
  /** or decode them with this function */
  decode?: (record: Buffer) => unknown;
}
