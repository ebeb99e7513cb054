// Typed errors of corebpf. Every error carries a stable `code` and plain-data details so
// that it can be rebuilt on the other side of a worker hop (see toWire / fromWire).

export interface ErrorWire {
  __corebpfError: true;
  name: string;
  message: string;
  details: Record<string, unknown>;
  /** names of the error's classes from its own up to CorebpfError: the receiver rebuilds
   * the most specific one it knows */
  chain?: string[];
  stack?: string;
  cause?: ErrorWire | { name: string; message: string };
}

/** Base class of all corebpf errors. */
export class CorebpfError extends Error {
  /** Plain-data details, kept across the worker hop. */
  readonly details: Record<string, unknown>;
  constructor(message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.details = details;
  }
}

/** A bpf() (or other) system call failed. */
export class SyscallError extends CorebpfError {
  /** the call that failed, e.g. BPF_MAP_CREATE */
  get cmd(): string { return String(this.details.cmd); }
  /** the errno it failed with (Linux's number) */
  get errno(): number { return Number(this.details.errno); }
  /** the errno's name, e.g. "EPERM" */
  get errnoName(): string { return String(this.details.errnoName ?? ''); }
}

/** Not allowed: not root, no CAP_BPF / CAP_SYS_ADMIN, or locked-memory limit too low. */
export class PermissionError extends SyscallError {}

/** The kernel (or this build) lacks what the operation needs; `details.feature` says what. */
export class NotSupportedError extends CorebpfError {
  /** what the kernel (or this machine) lacks */
  get feature(): string { return String(this.details.feature ?? ''); }
}

/** The verifier rejected a program; `log` is the full verifier log. */
export class VerifierError extends SyscallError {
  /** the program the verifier rejected */
  get program(): string { return String(this.details.program); }
  /** the full verifier log */
  get log(): string { return String(this.details.log ?? ''); }
}

/** A CO-RE relocation could not be resolved against the target BTF. */
export class RelocationError extends CorebpfError {
  /** The relocation report (see plan.ts RelocationRecord[]) when available. */
  get relocations(): unknown[] { return (this.details.relocations as unknown[]) ?? []; }
}

/** Input is not a valid BPF ELF object, or its BTF / the target BTF is corrupt. */
export class ObjectFormatError extends CorebpfError {}

/** libbpf failed for a reason that is none of the above; `details.errno` and the log say more. */
export class LibbpfError extends CorebpfError {
  /** Linux's errno number (libbpf in the wasm numbers them as its C library does) */
  get errno(): number { return Number(this.details.errnoValue ?? this.details.errno ?? 0); }
  /** the errno's name, e.g. "ESRCH" */
  get errnoName(): string { return String(this.details.errnoName ?? this.details.errno ?? ''); }
  /** libbpf's log of the failed call */
  get log(): string { return String(this.details.log ?? ''); }
}

/** The WebAssembly module trapped or aborted; the worker that ran it was replaced. */
export class WasmTrapError extends CorebpfError {}

/** The wasm module's result is not one this JavaScript reads: another result protocol
 * version (a dist/wasm older or newer than the code), or no result header at all. Rebuild
 * (`make`) so the two come from the same checkout; `details` has `expected` and `got`. */
export class WasmProtocolError extends CorebpfError {}

const registry = {
  CorebpfError, SyscallError, PermissionError, NotSupportedError, VerifierError,
  RelocationError, ObjectFormatError, LibbpfError, WasmTrapError, WasmProtocolError,
} as const;

export function toWire(err: unknown): ErrorWire {
  if (err instanceof CorebpfError) {
    const chain: string[] = [];
    for (let p = Object.getPrototypeOf(err); p && p !== Error.prototype; p = Object.getPrototypeOf(p)) chain.push(p.constructor.name);
    return {
      __corebpfError: true, name: err.name, message: err.message, details: err.details, chain, stack: err.stack,
      cause: err.cause === undefined ? undefined : toWire(err.cause),
    };
  }
  const e = err instanceof Error ? err : new Error(String(err));
  return { __corebpfError: true, name: e.name, message: e.message, details: {}, stack: e.stack };
}

export function fromWire(w: ErrorWire): Error {
  const known = registry as Record<string, typeof CorebpfError>;
  const Ctor = [w.name, ...(w.chain ?? [])].map((n) => known[n]).find((c) => c !== undefined);
  const cause = w.cause ? fromWire(w.cause as ErrorWire) : undefined;
  const err = Ctor ? new Ctor(w.message, w.details, { cause }) : Object.assign(new Error(w.message, { cause }), { name: w.name });
  if (w.stack) err.stack = w.stack;
  if (Ctor && Ctor.name !== w.name) err.name = w.name; // e.g. BtfFormatError, rebuilt as ObjectFormatError
  return err;
}

export function isErrorWire(v: unknown): v is ErrorWire {
  return typeof v === 'object' && v !== null && (v as ErrorWire).__corebpfError === true;
}
