// BTF newer than the kernel: testdata/progs/btf_newkinds.bpf.o uses BTF_KIND_FLOAT (5.13),
// DECL_TAG (5.16), TYPE_TAG (5.17) and ENUM64 (6.0). Opened with DEFAULT options on the
// running kernel it must load and run everywhere: where the kernel lacks a kind, only because
// its features were probed and libbpf sanitized the BTF (the plan's BTF, what is loaded into
// the kernel, then has no type of that kind); where the kernel has it, the kind is kept.
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { BpfObject, Relocator } from '../dist/index.js';
import { parseBtf, type Btf } from '../src/btf/reader.js';
import * as U from '../src/host/generated/uapi.js';
import { ElfFile } from '../src/host/uprobe.js';
import { missing, needsEach, type Need } from './kernel.js';

const OBJ = new URL('../testdata/progs/btf_newkinds.bpf.o', import.meta.url).pathname;

const KINDS: [Need, number, string][] = [
  ['btf_float', U.BTF_KIND_FLOAT, 'FLOAT'],
  ['btf_decl_tag', U.BTF_KIND_DECL_TAG, 'DECL_TAG'],
  ['btf_type_tag', U.BTF_KIND_TYPE_TAG, 'TYPE_TAG'],
  ['btf_enum64', U.BTF_KIND_ENUM64, 'ENUM64'],
];

function kindsOf(btf: Btf): Set<number> {
  const out = new Set<number>();
  for (let id = 1; btf.hasType(id); id++) out.add(btf.kindOf(id) as number);
  return out;
}

/** The object's own .BTF section (as compiled). */
function elfBtf(): Btf {
  const bytes = new Uint8Array(readFileSync(OBJ));
  const s = new ElfFile(bytes, OBJ).sections.find((x) => x.name === '.BTF')!;
  return parseBtf(bytes.subarray(Number(s.offset), Number(s.offset + s.size)));
}

const relocator = new Relocator({ size: 1 });
afterAll(() => relocator.close());

describe('BTF kinds newer than the kernel are sanitized away, and the program runs', () => {
  it('the object really uses FLOAT, DECL_TAG, TYPE_TAG and ENUM64', () => {
    const kinds = kindsOf(elfBtf());
    for (const [, kind, name] of KINDS) expect(kinds.has(kind), name).toBe(true);
  });

  describe('on this kernel', () => {
    needsEach('bpf', 'btf');

    it('loads with default options; its BTF has a new kind exactly where the kernel has it; the program returns the values', async () => {
      const obj = await BpfObject.open(OBJ, { relocator });
      try {
        await obj.load();
        // the BTF corebpf loaded into the kernel (the plan's): sanitized for this kernel
        const loaded = kindsOf(obj.btf!);
        const report: string[] = [];
        for (const [need, kind, name] of KINDS) {
          const why = missing(need);
          report.push(`${name}: kernel ${why ? 'lacks it' : 'has it'}, loaded BTF ${loaded.has(kind) ? 'has it' : 'has none'}`);
          expect(loaded.has(kind), `${name} (${why ?? 'supported'})`).toBe(why === null);
        }
        console.log(`[kernel-btf-sanitize] ${report.join('; ')}`);
        // run: the socket filter returns cfg.weight (7) + skb->len (the packet after the Ethernet header)
        const r = obj.program('newkinds').testRun({ data: Buffer.alloc(64) });
        expect(r.retval).toBe(7 + 64 - 14);
        expect(obj.getGlobal('out_sum')).toBe(r.retval);
        expect(obj.getGlobal('out_kind')).toBe(0x1122334455667788n); // the ENUM64 value
        expect(obj.getGlobal('out_ratio_bits')).toBe(0x3fc00000); // 1.5f
        expect(obj.getGlobal('out_scale_bits')).toBe(0xc002000000000000n); // -2.25
      } finally {
        obj.close();
      }
    });

    it('relocated for a kernel without the four kinds (5.10\'s features), it still loads and runs here: the sanitized BTF is valid', async () => {
      const obj = await BpfObject.open(OBJ, { relocator, features: { btf_float: false, btf_decl_tag: false, btf_type_tag: false, btf_enum64: false } });
      try {
        await obj.load();
        const loaded = kindsOf(obj.btf!);
        for (const [, kind, name] of KINDS) expect(loaded.has(kind), name).toBe(false);
        const r = obj.program('newkinds').testRun({ data: Buffer.alloc(100) });
        expect(r.retval).toBe(7 + 100 - 14);
        expect(obj.getGlobal('out_kind')).toBe(0x1122334455667788n);
        expect(obj.getGlobal('out_scale_bits')).toBe(0xc002000000000000n);
      } finally {
        obj.close();
      }
    });
  });
});
