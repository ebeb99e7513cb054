// Kernel module BTF at replay: a plan names modules (`moduleBtf` of a program: a typed
// ksym or kfunc that libbpf found in a module, or an fentry/fexit target there); here each
// name becomes the fd of that module's BTF object in the running kernel, found as libbpf's
// load_module_btfs() finds it (BPF_BTF_GET_NEXT_ID, BPF_BTF_GET_FD_BY_ID, the name from
// BPF_OBJ_GET_INFO_BY_FD), and is patched where libbpf put its own fd.
import { NotSupportedError, ObjectFormatError, SyscallError } from '../errors.js';
import type { PlanProgram } from '../plan.js';
import * as A from './attr.js';
import { OwnedFd } from './fd.js';
import * as U from './generated/uapi.js';
import { getSyscalls } from './syscall.js';

/** A program's references to module BTF objects, by module name (docs/load-plan.md). */
export interface PlanModuleBtf {
  /** attach_btf_obj_fd: the module whose BTF has attachBtfId */
  attach?: string;
  /** ld_imm64 BPF_PSEUDO_BTF_ID instructions whose second imm is the module's BTF fd */
  insns: { insn: number; module: string }[];
  /** fd_array for kfunc calls into modules (insn.off indexes it); null: unused slot */
  fdArray: (string | null)[];
}

const INSN = U.layouts.bpf_insn.size;
const BPF_LD_IMM64 = U.BPF_LD | U.BPF_IMM | U.BPF_DW;

/** Module BTF fds opened by name for one replay; close() once the programs are loaded. */
export class ModuleBtfFds {
  readonly #fds = new Map<string, OwnedFd>();

  fd(name: string): number {
    let fd = this.#fds.get(name);
    if (!fd) {
      fd = openModuleBtf(name);
      this.#fds.set(name, fd);
    }
    return fd.fd;
  }

  close(): void {
    for (const f of this.#fds.values()) f.close();
    this.#fds.clear();
  }
}

function bpfOrNull(cmd: number, attr: A.StructBuf<A.BpfAttrLayout>): boolean {
  try {
    getSyscalls().bpf(cmd, attr.buf);
    return true;
  } catch (e) {
    if (e instanceof SyscallError && e.errnoName === 'ENOENT') return false;
    throw e;
  }
}

/** The BTF object of kernel module `name`, as libbpf's load_module_btfs() walks them. */
export function openModuleBtf(name: string): OwnedFd {
  let id = 0;
  for (;;) {
    const next = A.getNextIdAttr(id);
    if (!bpfOrNull(U.BPF_BTF_GET_NEXT_ID, next)) break;
    id = next.get('next_id');
    let fd: OwnedFd;
    try {
      fd = new OwnedFd(getSyscalls().bpf(U.BPF_BTF_GET_FD_BY_ID, A.getFdByIdAttr(id).buf), 'btf');
    } catch (e) {
      if (e instanceof SyscallError && e.errnoName === 'ENOENT') continue; // unloaded meanwhile
      throw e;
    }
    const info = A.infoBuf('bpf_btf_info');
    const nameBuf = A.bytes(64);
    info.setPtr('name', nameBuf).set('name_len', nameBuf.byteLength);
    try {
      getSyscalls().bpf(U.BPF_OBJ_GET_INFO_BY_FD, A.objGetInfoByFdAttr(fd.fd, info.buf).buf);
    } catch (e) {
      fd.close();
      throw e;
    }
    if (info.get('kernel_btf') && A.cStringAt(nameBuf) === name) return fd;
    fd.close();
  }
  throw new NotSupportedError(
    `the plan needs the BTF of kernel module '${name}', which this kernel does not have loaded ` +
    `(no /sys/kernel/btf/${name}): load the module (modprobe ${name}) and try again`, { feature: `module ${name}` });
}

/**
 * Patch a program's module BTF references into its instructions; returns what
 * BPF_PROG_LOAD takes besides (fd_array, attach_btf_obj_fd).
 */
export function applyModuleBtf(p: PlanProgram & { moduleBtf?: PlanModuleBtf }, insns: Uint8Array, mods: ModuleBtfFds): { fdArray?: Uint8Array; attachBtfObjFd?: number } {
  const m = p.moduleBtf;
  if (!m) return {};
  const dv = new DataView(insns.buffer, insns.byteOffset, insns.byteLength);
  for (const ref of m.insns) {
    const o = ref.insn * INSN;
    if (o + 2 * INSN > insns.byteLength || insns[o] !== BPF_LD_IMM64 || insns[o + 1]! >> 4 !== U.BPF_PSEUDO_BTF_ID) {
      throw new ObjectFormatError(`load plan program '${p.name}': instruction ${ref.insn} is not an ld_imm64 of a BTF id (module '${ref.module}')`);
    }
    dv.setInt32(o + INSN + 4, mods.fd(ref.module), true);
  }
  const out: { fdArray?: Uint8Array; attachBtfObjFd?: number } = {};
  if (m.fdArray.length) {
    const arr = A.bytes(4 * m.fdArray.length);
    const av = new DataView(arr.buffer);
    m.fdArray.forEach((name, i) => av.setInt32(i * 4, name === null ? 0 : mods.fd(name), true));
    out.fdArray = arr;
  }
  if (m.attach) out.attachBtfObjFd = mods.fd(m.attach);
  return out;
}
