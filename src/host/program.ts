// A loaded BPF program: an owned fd plus what the plan said about it. Attaching lives in
// ./attach.ts (attachProgram over the fd); Program.attach() is its object-style entry.
import * as A from './attr.js';
import { PinState } from './pin.js';
import { attachProgram, type AttachOptions } from './attach.js';
import type { OwnedFd } from './fd.js';
import * as U from './generated/uapi.js';
import type { Link } from './link.js';
import type { ProgramAdjustment } from '../adjust.js';
import { CorebpfError } from '../errors.js';
import { enumName } from './syscall.js';

/** The attributes of a program. */
export interface ProgramSpec {
  name: string;
  /** ELF section, e.g. "tracepoint/syscalls/sys_enter_execve" */
  section: string;
  /** enum bpf_prog_type */
  type: number;
  /** enum bpf_attach_type */
  expectedAttachType: number;
  /** BTF id of the attach target in the kernel's BTF, 0 if none */
  attachBtfId: number;
}

/** Options of BPF_PROG_TEST_RUN (`Program.testRun`). */
export interface TestRunOptions {
  /** input packet (data_in) */
  data?: Uint8Array;
  /** input context (ctx_in), e.g. a struct __sk_buff or xdp_md */
  ctx?: Uint8Array;
  /** run this many times (duration is the mean) */
  repeat?: number;
  /** room for the output packet (default: input size + 4096) */
  dataOutSize?: number;
  /** room for the output context (default: the input context's size) */
  ctxOutSize?: number;
  /** BPF_F_TEST_* flags */
  flags?: number;
  cpu?: number;
  batchSize?: number;
}

/** The result of BPF_PROG_TEST_RUN. */
export interface TestRunResult {
  /** the program's return value (u32) */
  retval: number;
  /** the packet after the run */
  data: Buffer;
  /** the context after the run, when a context was given */
  ctx: Buffer | null;
  /** mean run time in nanoseconds */
  duration: number;
}

/** What owns a program's links: BpfObject adopts them so that its close() detaches them. */
export interface ProgramOwner {
  adopt<T extends { close(): void }>(r: T): T;
}

/** A program's attributes in libbpf's open phase (before its object is loaded). */
export interface OpenedProgramState {
  type: number;
  expectedAttachType: number;
  autoload: boolean;
  /** the attach target: set with setAttachTarget, else the section's ("tp_btf/X" -> X) */
  attachTarget: string | null;
  logLevel: number;
}

/** The opened object's side of a program handle: where its adjustments go. */
export interface ProgramAdjuster {
  state(name: string): OpenedProgramState;
  adjustProgram(name: string, a: ProgramAdjustment): void;
  /** the slot of a loaded program that freplace/fentry programs extend */
  targetProgram(fd: number): number;
}

/** BpfObject binds a program handle to its fd at load (not part of the public API). */
export const BIND_PROGRAM = Symbol('corebpf.bindProgram');

/** A BPF program of an object: its attributes (adjustable until the object is loaded) and, once loaded, its fd, attach, pin and test run. Got from {@link BpfObject.program}. */
export class Program implements Disposable {
  readonly name: string;
  readonly section: string;
  /** the verifier log when the program was loaded with a log level, else '' */
  verifierLog: string;
  #spec: ProgramSpec;
  #fd: OwnedFd | null;
  readonly #owner: ProgramOwner | null;
  readonly #opened: ProgramAdjuster | null;
  readonly #pin = new PinState();

  /**
   * `owner`: the object that adopts the links attach() makes (closed with it). Without an
   * fd, a program of an opened object not loaded yet: `opened` takes its adjustments
   * (libbpf's bpf_program__set_*), and the object binds the fd at load.
   */
  constructor(fd: OwnedFd | null, spec: ProgramSpec, verifierLog = '', owner: ProgramOwner | null = null, opened: ProgramAdjuster | null = null) {
    this.#owner = owner;
    this.#fd = fd;
    this.#opened = opened;
    this.#spec = { ...spec };
    this.name = spec.name;
    this.section = spec.section;
    this.verifierLog = verifierLog;
  }

  /** @internal */
  [BIND_PROGRAM](fd: OwnedFd, spec: ProgramSpec, verifierLog: string): void {
    this.#fd = fd;
    this.#spec = { ...spec };
    this.verifierLog = verifierLog;
  }

  /** loaded into the kernel (it has an fd) */
  get loaded(): boolean {
    return this.#fd !== null;
  }

  #state(): OpenedProgramState | null {
    return !this.#fd && this.#opened ? this.#opened.state(this.name) : null;
  }

  /** enum bpf_prog_type (before load: what libbpf will load it as) */
  get type(): number {
    return this.#state()?.type ?? this.#spec.type;
  }

  /** enum bpf_attach_type */
  get expectedAttachType(): number {
    return this.#state()?.expectedAttachType ?? this.#spec.expectedAttachType;
  }

  /** BTF id of the attach target in the kernel's BTF (0 before load, or if none) */
  get attachBtfId(): number {
    return this.#fd ? this.#spec.attachBtfId : 0;
  }

  /** whether load() loads it (libbpf's bpf_program__autoload); after load: whether it was */
  get autoload(): boolean {
    return this.#state()?.autoload ?? this.#fd !== null;
  }

  /** the function or tracepoint it attaches to (setAttachTarget, else its section's) */
  get attachTarget(): string | null {
    if (this.#opened) return this.#opened.state(this.name).attachTarget;
    const i = this.section.indexOf('/');
    return i >= 0 ? this.section.slice(i + 1) || null : null;
  }

  /** the verifier log level it is loaded with (setLogLevel) */
  get logLevel(): number {
    return this.#opened ? this.#opened.state(this.name).logLevel : 0;
  }

  #adjust(what: string, a: ProgramAdjustment): this {
    if (!this.#opened) {
      throw new CorebpfError(`program '${this.name}': ${what} needs an opened object (BpfObject.open), not a loaded program or a load plan`, { program: this.name });
    }
    if (this.#fd) throw new CorebpfError(`program '${this.name}' is already loaded: ${what} before load()`, { program: this.name });
    this.#opened.adjustProgram(this.name, a);
    return this;
  }

  /** Load it or not on load() (libbpf's bpf_program__set_autoload). */
  setAutoload(on: boolean): this {
    return this.#adjust('setAutoload', { autoload: on });
  }

  /**
   * Attach to this kernel function or tracepoint instead of its section's (libbpf's
   * bpf_program__set_attach_target): e.g. a placeholder SEC("fentry/dummy") pointed at a
   * real function. Resolved against the target kernel's BTF at load; a name the kernel
   * lacks fails there with ESRCH.
   *
   * With `targetProgram` (a loaded Program, or a program fd): a global function of that
   * program, which a SEC("freplace") program replaces (or fentry/fexit traces); null as
   * the name keeps the section's ("freplace/func"). libbpf resolves it in the target's
   * BTF at load; the target must stay loaded until this object is.
   */
  setAttachTarget(funcName: string | null, targetProgram?: Program | number): this {
    if (targetProgram === undefined) {
      if (typeof funcName !== 'string' || !funcName) throw new CorebpfError(`program '${this.name}': setAttachTarget needs a function or tracepoint name`);
      return this.#adjust('setAttachTarget', { attachTarget: funcName, attachProgram: undefined });
    }
    if (funcName !== null && (typeof funcName !== 'string' || !funcName)) {
      throw new CorebpfError(`program '${this.name}': setAttachTarget needs the target program's function name (or null for the section's)`);
    }
    const fd = typeof targetProgram === 'number' ? targetProgram : targetProgram instanceof Program ? targetProgram.fd : NaN;
    if (!Number.isInteger(fd) || fd <= 0) {
      throw new CorebpfError(`program '${this.name}': setAttachTarget's target program must be a loaded Program or a program fd`, { program: this.name });
    }
    if (!this.#opened) return this.#adjust('setAttachTarget', {});
    const attachProgram = this.#opened.targetProgram(fd);
    return this.#adjust('setAttachTarget', { attachTarget: funcName ?? undefined, attachProgram });
  }

  /** libbpf's bpf_program__set_type: a number or a name ('tracepoint', 'BPF_PROG_TYPE_KPROBE') */
  setType(type: number | string): this {
    return this.#adjust('setType', { type: enumValue(U.bpf_prog_type, 'BPF_PROG_TYPE_', type) });
  }

  /** libbpf's bpf_program__set_expected_attach_type: a number or a name ('trace_fentry') */
  setExpectedAttachType(type: number | string): this {
    return this.#adjust('setExpectedAttachType', { expectedAttachType: enumValue(U.bpf_attach_type, 'BPF_', type) });
  }

  /** libbpf's bpf_program__set_log_level: the verifier log is then kept on verifierLog */
  setLogLevel(level: number): this {
    if (!Number.isInteger(level) || level < 0) throw new CorebpfError(`program '${this.name}': bad log level ${level}`);
    return this.#adjust('setLogLevel', { logLevel: level });
  }

  /** the program's fd; throws when it is not loaded */
  get fd(): number {
    if (!this.#fd) throw new CorebpfError(`program '${this.name}' is not loaded: call load() on its object first${this.#opened && !this.autoload ? ' (autoload is off)' : ''}`, { program: this.name });
    return this.#fd.fd;
  }

  /** the program's fd was closed */
  get closed(): boolean {
    return this.#fd?.closed ?? false;
  }

  /** Short type name: "xdp", "socket_filter", "tracepoint", ... */
  get typeName(): string {
    return (enumName(U.bpf_prog_type, this.type) ?? `BPF_PROG_TYPE_${this.type}`).replace(/^BPF_PROG_TYPE_/, '').toLowerCase();
  }

  /** BPF_OBJ_GET_INFO_BY_FD: the kernel's view of the loaded program. */
  info(): A.ProgInfo {
    return A.progInfo(this.fd);
  }

  /** the kernel's id of this program */
  get id(): number {
    return this.info().id;
  }

  /** Where this program is pinned, or null. */
  get pinnedPath(): string | null {
    return this.#pin.path;
  }

  /**
   * BPF_PROG_TEST_RUN: run the program once (or `repeat` times) on a packet and/or context
   * in the kernel, without attaching it.
   */
  testRun(o: TestRunOptions = {}): TestRunResult {
    const dataIn = o.data ? Uint8Array.from(o.data) : null;
    const dataOut = dataIn || o.dataOutSize ? A.bytes(o.dataOutSize ?? (dataIn?.byteLength ?? 0) + 4096) : null;
    const ctxIn = o.ctx ? Uint8Array.from(o.ctx) : null;
    const ctxOut = ctxIn || o.ctxOutSize ? A.bytes(o.ctxOutSize ?? ctxIn?.byteLength ?? 0) : null;
    const r = A.progTestRun({
      progFd: this.fd, dataIn, dataOut, ctxIn, ctxOut, repeat: o.repeat, flags: o.flags, cpu: o.cpu, batchSize: o.batchSize,
    });
    return {
      retval: r.retval >>> 0,
      data: dataOut ? Buffer.from(dataOut.subarray(0, Math.min(r.dataSizeOut, dataOut.byteLength))) : Buffer.alloc(0),
      ctx: ctxOut ? Buffer.from(ctxOut.subarray(0, Math.min(r.ctxSizeOut, ctxOut.byteLength))) : null,
      duration: r.duration,
    };
  }

  /**
   * Attach the program where its section says (or where `opts` say); returns the link
   * (owned by the program's object, if any: closing the object detaches it).
   * Implemented by attachProgram() of src/host/attach.ts. Async so that callers do not
   * depend on how attaching is loaded.
   */
  async attach(opts?: AttachOptions): Promise<Link> {
    const link = attachProgram({
      fd: this.fd, name: this.name, section: this.section, type: this.type,
      expectedAttachType: this.expectedAttachType, attachBtfId: this.attachBtfId,
    }, opts);
    return this.#owner ? this.#owner.adopt(link) : link;
  }

  /** Pin the program in bpffs at `path`. */
  pin(path: string): void {
    this.#pin.pin(this.fd, path);
  }

  /** Remove the pin made by pin(). */
  unpin(): void {
    this.#pin.unpin();
  }

  /** Close the program's fd (links that hold it keep it in the kernel). */
  close(): void {
    this.#fd?.close();
  }

  /** Same as close(). */
  [Symbol.dispose](): void {
    this.close();
  }

  toString(): string {
    return `Program(${this.name}, ${this.typeName}, ${this.#fd ?? 'not loaded'})`;
  }
}

/** A UAPI enum value from a number or a name, with or without its prefix, any case. */
export function enumValue(table: Readonly<Record<string, number>>, prefix: string, v: number | string): number {
  if (typeof v === 'number') return v;
  const want = v.toUpperCase().startsWith(prefix) ? v.toUpperCase() : prefix + v.toUpperCase();
  const n = table[want];
  if (n === undefined) throw new CorebpfError(`unknown ${prefix.replace(/_$/, '')} '${v}'`, { value: v });
  return n;
}
