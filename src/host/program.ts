// A loaded BPF program: an owned fd plus what the plan said about it. Attaching lives in
// ./attach.ts (attachProgram over the fd); Program.attach() is its object-style entry.
import * as A from './attr.js';
import { PinState } from './pin.js';
import { attachProgram, type AttachOptions } from './attach.js';
import type { OwnedFd } from './fd.js';
import * as U from './generated/uapi.js';
import type { Link } from './link.js';
import { enumName } from './syscall.js';

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

export class Program implements Disposable {
  readonly name: string;
  readonly section: string;
  readonly type: number;
  readonly expectedAttachType: number;
  readonly attachBtfId: number;
  /** the verifier log when the program was loaded with a log level, else '' */
  readonly verifierLog: string;
  readonly #fd: OwnedFd;
  readonly #owner: ProgramOwner | null;
  readonly #pin = new PinState();

  /** `owner`: the object that adopts the links attach() makes (closed with it). */
  constructor(fd: OwnedFd, spec: ProgramSpec, verifierLog = '', owner: ProgramOwner | null = null) {
    this.#owner = owner;
    this.#fd = fd;
    this.name = spec.name;
    this.section = spec.section;
    this.type = spec.type;
    this.expectedAttachType = spec.expectedAttachType;
    this.attachBtfId = spec.attachBtfId;
    this.verifierLog = verifierLog;
  }

  get fd(): number {
    return this.#fd.fd;
  }

  get closed(): boolean {
    return this.#fd.closed;
  }

  /** Short type name: "xdp", "socket_filter", "tracepoint", ... */
  get typeName(): string {
    return (enumName(U.bpf_prog_type, this.type) ?? `BPF_PROG_TYPE_${this.type}`).replace(/^BPF_PROG_TYPE_/, '').toLowerCase();
  }

  info(): A.ProgInfo {
    return A.progInfo(this.fd);
  }

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

  pin(path: string): void {
    this.#pin.pin(this.fd, path);
  }

  unpin(): void {
    this.#pin.unpin();
  }

  close(): void {
    this.#fd.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  toString(): string {
    return `Program(${this.name}, ${this.typeName}, ${this.#fd})`;
  }
}
