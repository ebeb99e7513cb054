// Ring buffer consume() is zero-copy through the public API (issue 15 part 5): the records
// it hands out are views of the ring's own mapping. The data pages are mapped read-only
// (the kernel refuses a writable mapping), so a view cannot be written through; instead a
// view kept past its callback is read again after the producer has wrapped over its
// place: a view shows the new bytes there, a copy (even a pooled Buffer slice, which also
// has byteOffset > 0) keeps the old ones.
import { describe, expect, it } from 'vitest';
import { BpfObject, type LoadPlan } from '../dist/index.js';
import * as U from '../src/host/generated/uapi.js';
import { R0, R1, R2, R3, R4, R10, asm, call, exit, mov, movr, add, stxDW, type Insn } from './asm.js';
import { bpfUsable } from './kernel.js';

const skip = bpfUsable();
if (skip) console.warn(`[ringbuf-views] SKIPPED: ${skip}`);

const REC = 48;
const RING = 4096;

/** a socket filter that writes 48 bytes of bpf_ktime_get_ns() to ring buffer map 0 */
function plan(): LoadPlan {
  const body: Insn[] = [call(U.BPF_FUNC_ktime_get_ns)];
  for (let o = 8; o <= REC; o += 8) body.push(stxDW(R10, -o, R0));
  body.push(
    { code: U.BPF_LD | U.BPF_DW | U.BPF_IMM, dst: R1, src: U.BPF_PSEUDO_MAP_FD, imm: 0 }, { code: 0 },
    movr(R2, R10), add(R2, -REC), mov(R3, REC), mov(R4, 0), call(U.BPF_FUNC_ringbuf_output), mov(R0, 0), exit(),
  );
  const insns = asm(body);
  return {
    format: 'corebpf-load-plan', version: 1, object: 'rbviews', byteOrder: 'little', btf: null,
    kernel: { release: '', version: '', machine: '', pageSize: 4096 },
    maps: [{
      name: 'rb', type: U.BPF_MAP_TYPE_RINGBUF, keySize: 0, valueSize: 0, maxEntries: RING, flags: 0, numaNode: 0, mapExtra: '0',
      ifindex: 0, btf: false, btfKeyTypeId: 0, btfValueTypeId: 0, btfVmlinuxValueTypeId: 0, innerMap: null, innerTemplate: false,
      internal: false, freeze: false, pinPath: null, initial: [],
    }],
    programs: [{
      name: 'rbviews', section: 'socket', type: U.BPF_PROG_TYPE_SOCKET_FILTER, expectedAttachType: 0, attachBtfId: 0, license: 'GPL',
      kernVersion: 0, flags: 0, ifindex: 0, btf: false, mapRefs: [{ insn: (REC / 8) + 1, map: 0 }],
      insns: Buffer.from(insns).toString('base64'), funcInfo: null, lineInfo: null, boundMaps: [],
    }],
    relocations: [],
  };
}

describe.skipIf(skip !== null)('ring buffer consume() through BpfObject', () => {
  it('hands out views of the ring: a kept view shows what the producer later wrote there', async () => {
    using obj = BpfObject.fromPlan(plan());
    void obj.load();
    const prog = obj.program('rbviews');
    const fire = (n: number) => { for (let i = 0; i < n; i++) prog.testRun({ data: new Uint8Array(64) }); };
    const r = await obj.ringbuf('rb');
    const page = 4096;
    fire(4);
    const kept: { view: Uint8Array; copy: Buffer }[] = [];
    expect(r.consume((rec) => { kept.push({ view: rec, copy: Buffer.from(rec) }); })).toBe(4);
    // the first record sits right after its 8-byte header at the start of the data area
    expect(kept[0]!.view.byteLength).toBe(REC);
    expect(kept[0]!.view.buffer.byteLength).toBe(page + 2 * RING);
    expect(kept[0]!.view.byteOffset).toBe(page + 8);
    // wrap the ring: 56-byte records, 4096 bytes: position 0 is written again
    for (let round = 0; round < 3; round++) {
      fire(60);
      expect(r.consume(() => {})).toBe(60);
    }
    const k = kept[0]!;
    expect(Buffer.from(k.view).equals(k.copy)).toBe(false); // a view: the ring moved on under it
    r.close();
  });
});
