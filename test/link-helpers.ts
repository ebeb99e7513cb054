// Shared by the multi-link tests: hand-assembled counting programs keyed by the BPF cookie,
// and the kernel's own list of links (BPF_LINK_GET_NEXT_ID), to check that detaching leaves
// nothing behind.
import { SyscallError } from '../src/errors.js';
import * as A from '../src/host/attr.js';
import { OwnedFd } from '../src/host/fd.js';
import * as U from '../src/host/generated/uapi.js';
import { getSyscalls } from '../src/host/syscall.js';
import { R0, R1, R2, R6, R10, add, asm, atomicAdd, call, exit, jeq, jneR, label, ld64, ldMap, ldxDW, mov, movr, stDW, stxDW, type Insn } from './asm.js';

/** Continue only when bpf_get_current_comm() is `comm` (two u64 words at r10-24). */
function commFilter(comm: string, out: string): Insn[] {
  const b = Buffer.alloc(16);
  b.write(comm.slice(0, 15), 'latin1');
  return [
    stDW(R10, -24, 0), stDW(R10, -16, 0),
    movr(R1, R10), add(R1, -24), mov(R2, 16), call(U.BPF_FUNC_get_current_comm),
    ldxDW(R1, R10, -24), ...ld64(R2, b.readBigUInt64LE(0)), jneR(R1, R2, out),
    ldxDW(R1, R10, -16), ...ld64(R2, b.readBigUInt64LE(8)), jneR(R1, R2, out),
  ];
}

/**
 * counts[bpf_get_attach_cookie(ctx)] += 1 (or += the u64 at ctx+addOff), optionally only for
 * tasks named `comm`. The cookie indexes an array map (little-endian: its low 32 bits).
 */
export function cookieCountingProg(countsFd: number, o: { addOff?: number; comm?: string } = {}): Uint8Array {
  return asm([
    movr(R6, R1),
    ...(o.comm !== undefined ? commFilter(o.comm, 'out') : []),
    movr(R1, R6), call(U.BPF_FUNC_get_attach_cookie),
    stxDW(R10, -8, R0),
    movr(R2, R10), add(R2, -8), ...ldMap(R1, countsFd), call(U.BPF_FUNC_map_lookup_elem),
    jeq(R0, 0, 'out'),
    ...(o.addOff !== undefined ? [ldxDW(R1, R6, o.addOff)] : [mov(R1, 1)]),
    atomicAdd(R0, 0, R1),
    label('out'), mov(R0, 0), exit(),
  ]);
}

export const countsMap = (n = 8): OwnedFd => A.mapCreate({ mapType: U.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: n, name: 'counts' });

/** The u64 values of an array map, index 0..n-1. */
export function readCounts(m: OwnedFd, n = 8): bigint[] {
  const out: bigint[] = [];
  for (let i = 0; i < n; i++) {
    const k = A.bytes(4);
    new DataView(k.buffer).setUint32(0, i, true);
    const v = A.bytes(8);
    A.mapLookupElem(m.fd, k, v);
    out.push(new DataView(v.buffer).getBigUint64(0, true));
  }
  return out;
}

/** Ids of the kernel's BPF links whose program is `progFd`'s (other tests' links do not count). */
export function linksOfProgram(progFd: number): number[] {
  const progId = A.progInfo(progFd).id;
  const ids: number[] = [];
  let id = 0;
  for (;;) {
    const next = A.getNextIdAttr(id);
    try {
      getSyscalls().bpf(U.BPF_LINK_GET_NEXT_ID, next.buf);
    } catch (e) {
      if (e instanceof SyscallError && e.errnoName === 'ENOENT') break;
      throw e;
    }
    id = next.get('next_id');
    let fd: OwnedFd;
    try {
      fd = new OwnedFd(getSyscalls().bpf(U.BPF_LINK_GET_FD_BY_ID, A.getFdByIdAttr(id).buf), 'link');
    } catch (e) {
      if (e instanceof SyscallError && e.errnoName === 'ENOENT') continue; // gone meanwhile
      throw e;
    }
    try {
      if (A.objGetInfo(fd.fd, 'bpf_link_info').get('prog_id') === progId) ids.push(id);
    } finally {
      fd.close();
    }
  }
  return ids;
}
