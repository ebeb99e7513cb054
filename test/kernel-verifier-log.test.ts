// Verifier-log parsing (src/host/verifier.ts) against the log formats of the kernels the lab
// runs: 5.10 (no register-state comments, "; text" annotations, precision-tracking lines at
// level 1), 6.1 (state comments after instructions, "; text" annotations without file:line),
// 6.4+ ("; text @ file:line", also after an instruction on the same line). The 6.18 logs are
// recorded from this machine; the 5.10 / 6.1 ones are the same verifications written the way
// those kernels print them (kernel/bpf/verifier.c of each: print_bpf_insn, verbose_linfo,
// print_verifier_state). No kernel needed: the real-kernel side is in host-replay.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Relocator, type LoadPlan } from '../dist/index.js';
import { VerifierError } from '../src/errors.js';
import { parseBtf, type Btf } from '../src/btf/reader.js';
import { explainVerifierError, failingInsn, kernelSourceFor, poisonInLog, verifierErrorLine } from '../src/host/verifier.js';
import { kernelWithoutRealParent } from './btf-writer.js';

const PROGS = new URL('../testdata/progs/', import.meta.url).pathname;

// prog_a of subprogs.bpf.o calls task_ppid() (a subprogram at instruction 29 of prog_a), whose
// task_struct.real_parent relocation failed: libbpf poisoned instruction 30
const POISONED: Record<string, string> = {
  '6.18': `arg#0 reference type('UNKNOWN ') size cannot be determined: -22
0: R1=ctx() R10=fp0
; int prog_a(void *ctx) @ subprogs.bpf.c:78
0: (b7) r1 = 0                        ; R1=0
; struct loop_ctx lc = { .acc = 0, .seed = task_ppid() }; @ subprogs.bpf.c:80
1: (7b) *(u64 *)(r10 -16) = r1        ; R1=0 R10=fp0 fp-16=0
2: (85) call pc+26
caller:
 R10=fp0 fp-16=0
callee:
 frame1: R1=0 R10=fp0
29: frame1: R1=0 R10=fp0
; struct task_struct *t = (struct task_struct *)bpf_get_current_task(); @ subprogs.bpf.c:55
29: (85) call bpf_get_current_task#35         ; frame1: R0=scalar()
30: (85) call unknown#195896080
invalid func unknown#195896080
processed 5 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
`,
  '6.1': `0: R1=ctx(off=0,imm=0) R10=fp0
; int prog_a(void *ctx)
0: (b7) r1 = 0                        ; R1_w=0
; struct loop_ctx lc = { .acc = 0, .seed = task_ppid() };
1: (7b) *(u64 *)(r10 -16) = r1        ; R1_w=0 R10=fp0 fp-16_w=00000000
2: (85) call pc+26
caller:
 R10=fp0 fp-16_w=00000000
callee:
 frame1: R1_w=0 R10=fp0
; struct task_struct *t = (struct task_struct *)bpf_get_current_task();
29: (85) call bpf_get_current_task#35         ; frame1: R0_w=scalar()
30: (85) call unknown#195896080
invalid func unknown#195896080
processed 5 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
`,
  '5.10': `; int prog_a(void *ctx)
0: (b7) r1 = 0
; struct loop_ctx lc = { .acc = 0, .seed = task_ppid() };
1: (7b) *(u64 *)(r10 -16) = r1
2: (85) call pc+26
caller:
 R10=fp0 fp-16_w=00000000
callee:
 frame1: R1_w=invP0 R10=fp0
; struct task_struct *t = (struct task_struct *)bpf_get_current_task();
29: (85) call bpf_get_current_task#35
30: (85) call unknown#195896080
invalid func unknown#195896080
processed 5 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
`,
};

// reject___err_null_deref of verifier_reject.bpf.o
const NULL_DEREF: Record<string, string> = {
  '6.18': `0: R1=ctx() R10=fp0
; int reject___err_null_deref(struct __sk_buff *skb) @ verifier_reject.bpf.c:47
0: (b4) w1 = 1                        ; R1=1
; u32 key = 1; @ verifier_reject.bpf.c:49
1: (63) *(u32 *)(r10 -4) = r1         ; R1=1 R10=fp0 fp-8=mmmm????
2: (bf) r2 = r10                      ; R2=fp0 R10=fp0
;  @ verifier_reject.bpf.c:0
3: (07) r2 += -4                      ; R2=fp-4
; struct pair *p = bpf_map_lookup_elem(&pairs, &key); @ verifier_reject.bpf.c:50
4: (18) r1 = 0xffff8883601eee00       ; R1=map_ptr(map=pairs,ks=4,vs=16)
6: (85) call bpf_map_lookup_elem#1    ; R0=map_value_or_null(id=1,map=pairs,ks=4,vs=16)
; return p->a; @ verifier_reject.bpf.c:53
7: (79) r0 = *(u64 *)(r0 +0)
R0 invalid mem access 'map_value_or_null'
processed 7 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
`,
  '6.1': `0: R1=ctx(off=0,imm=0) R10=fp0
; int reject___err_null_deref(struct __sk_buff *skb)
0: (b4) w1 = 1                        ; R1_w=1
; u32 key = 1;
1: (63) *(u32 *)(r10 -4) = r1         ; R1_w=1 R10=fp0 fp-8=mmmm????
2: (bf) r2 = r10                      ; R2_w=fp0 R10=fp0
; 
3: (07) r2 += -4                      ; R2_w=fp-4
; struct pair *p = bpf_map_lookup_elem(&pairs, &key);
4: (18) r1 = 0xffff8880046d2c00       ; R1_w=map_ptr(off=0,ks=4,vs=16,imm=0)
6: (85) call bpf_map_lookup_elem#1    ; R0=map_value_or_null(id=1,off=0,ks=4,vs=16,imm=0)
; return p->a;
7: (79) r0 = *(u64 *)(r0 +0)
R0 invalid mem access 'map_value_or_null'
processed 7 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
`,
  '5.10': `; int reject___err_null_deref(struct __sk_buff *skb)
0: (b4) w1 = 1
; u32 key = 1;
1: (63) *(u32 *)(r10 -4) = r1
last_idx 1 first_idx 0
regs=2 stack=0 before 0: (b4) w1 = 1
2: (bf) r2 = r10
; 
3: (07) r2 += -4
; struct pair *p = bpf_map_lookup_elem(&pairs, &key);
4: (18) r1 = 0xffff888003d5c400
6: (85) call bpf_map_lookup_elem#1
; return p->a;
7: (79) r0 = *(u64 *)(r0 +0)
R0 invalid mem access 'map_value_or_null'
processed 7 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
`,
};

// reject___err_unbounded_loop: 6.4+ prints the annotation after the back-edge instruction,
// newer kernels add "cur state:" / "old state:" after the error, 5.10 neither
const LOOP: Record<string, string> = {
  '6.18': `0: R1=ctx() R10=fp0
; while (*(volatile u32 *)&skb->len != 0x12345) @ verifier_reject.bpf.c:61
0: (61) r2 = *(u32 *)(r1 +0)          ; R1=ctx() R2=scalar(smin=0,smax=umax=0xffffffff,var_off=(0x0; 0xffffffff))
1: (56) if w2 != 0x12345 goto pc-2 ; while (*(volatile u32 *)&skb->len != 0x12345) @ verifier_reject.bpf.c:61
infinite loop detected at insn 0
cur state: R1=ctx() R2=scalar(smin=0,smax=umax=0xffffffff,var_off=(0x0; 0xffffffff)) R10=fp0
old state: R1=ctx() R2=scalar(smin=0,smax=umax=0xffffffff,var_off=(0x0; 0xffffffff)) R10=fp0
processed 13 insns (limit 1000000) max_states_per_insn 0 total_states 1 peak_states 1 mark_read 0
`,
  '5.10': `; while (*(volatile u32 *)&skb->len != 0x12345)
0: (61) r2 = *(u32 *)(r1 +0)
1: (56) if w2 != 0x12345 goto pc-2

from 1 to 0: R1=ctx(id=0,off=0,imm=0) R2_w=inv(id=0,umax_value=4294967295,var_off=(0x0; 0xffffffff)) R10=fp0
; while (*(volatile u32 *)&skb->len != 0x12345)
0: (61) r2 = *(u32 *)(r1 +0)
1: (56) if w2 != 0x12345 goto pc-2
; while (*(volatile u32 *)&skb->len != 0x12345)
infinite loop detected at insn 0
processed 9 insns (limit 1000000) max_states_per_insn 0 total_states 1 peak_states 1 mark_read 1
`,
};

describe('verifier logs of 5.10, 6.1 and 6.4+ kernels', () => {
  it('failing instruction, error line, poison: the same from every format', () => {
    for (const [k, log] of Object.entries(POISONED)) {
      expect(failingInsn(log), k).toBe(30);
      expect(verifierErrorLine(log), k).toBe('invalid func unknown#195896080');
      expect(poisonInLog(log), k).toBe(0xbad2310);
    }
    for (const [k, log] of Object.entries(NULL_DEREF)) {
      expect(failingInsn(log), k).toBe(7);
      expect(verifierErrorLine(log), k).toBe("R0 invalid mem access 'map_value_or_null'");
      expect(poisonInLog(log), k).toBeNull();
    }
    for (const [k, log] of Object.entries(LOOP)) {
      expect(failingInsn(log), k).toBe(0);
      expect(verifierErrorLine(log), k).toBe('infinite loop detected at insn 0');
    }
  });

  it('the kernel\'s own source annotation: text everywhere, file and line only where printed (6.4+)', () => {
    const lookup = 'struct pair *p = bpf_map_lookup_elem(&pairs, &key);';
    expect(kernelSourceFor(NULL_DEREF['6.18']!, 7)).toEqual({ text: 'return p->a;', file: 'verifier_reject.bpf.c', line: 53 });
    expect(kernelSourceFor(NULL_DEREF['6.1']!, 7)).toEqual({ text: 'return p->a;', file: null, line: null });
    expect(kernelSourceFor(NULL_DEREF['5.10']!, 7)).toEqual({ text: 'return p->a;', file: null, line: null });
    // compiler-generated line 0 (empty text) is passed over, to the line before
    expect(kernelSourceFor(NULL_DEREF['6.18']!, 3)).toEqual({ text: 'u32 key = 1;', file: 'verifier_reject.bpf.c', line: 49 });
    expect(kernelSourceFor(NULL_DEREF['5.10']!, 3)!.text).toBe('u32 key = 1;');
    expect(kernelSourceFor(NULL_DEREF['6.1']!, 6)!.text).toBe(lookup);
    // register-state comments ("; R1=1") are not annotations; an instruction not in the log has none
    expect(kernelSourceFor('0: R1=ctx() R10=fp0\n0: (b4) w1 = 1                        ; R1=1\n', 0)).toBeNull();
    expect(kernelSourceFor(NULL_DEREF['6.1']!, 5)).toBeNull();
    // the annotation after a back-edge instruction (6.4+), and the 5.10 form of the same loop
    expect(kernelSourceFor(`${LOOP['6.18']!}0: (61) r2 = *(u32 *)(r1 +0)\n`, 0)!.line).toBe(61);
    for (const [k, log] of Object.entries(POISONED)) {
      expect(kernelSourceFor(log, 30)!.text, k).toBe('struct task_struct *t = (struct task_struct *)bpf_get_current_task();');
    }
  });

  it('a log cut short by a full buffer (the end lost, as before 6.4) still names its last instruction', () => {
    const cut = NULL_DEREF['5.10']!.slice(0, NULL_DEREF['5.10']!.indexOf('; return'));
    expect(failingInsn(cut)).toBe(6);
    expect(kernelSourceFor(cut, 6)!.text).toBe('struct pair *p = bpf_map_lookup_elem(&pairs, &key);');
  });

  describe('explainVerifierError on a plan with a poisoned relocation in a subprogram', () => {
    const relocator = new Relocator({ size: 1 });
    afterAll(() => relocator.close());
    let plan: LoadPlan;
    let btf: Btf;
    beforeAll(async () => {
      plan = (await relocator.relocate(`${PROGS}subprogs.bpf.o`, { btf: kernelWithoutRealParent() })).plan;
      btf = parseBtf(new Uint8Array(Buffer.from(plan.btf!, 'base64')));
    });

    for (const k of Object.keys(POISONED)) {
      it(`${k} log: the relocation found through func_info, the source line from the plan and from the kernel`, () => {
        const idx = plan.programs.findIndex((p) => p.name === 'prog_a');
        const failed = plan.relocations.filter((r) => r.status === 'failed');
        expect(failed.map((r) => [r.program, r.insn])).toEqual([['task_ppid', 1]]);
        const raw = new VerifierError('program rejected', { program: 'prog_a', log: POISONED[k], errno: 22, errnoName: 'EINVAL' });
        const err = explainVerifierError(raw, plan, idx, btf);
        expect(err).toBeInstanceOf(VerifierError);
        expect(err.details.insn).toBe(30);
        expect(err.details.relocation).toEqual(failed[0]);
        expect(err.message).toContain('instruction 30 was poisoned by a failed CO-RE relocation: task_ppid relo #0 field_byte_offset task_struct.real_parent');
        const text = 'struct task_struct *t = (struct task_struct *)bpf_get_current_task();';
        expect(err.details.source).toMatchObject({ line: 55, text });
        expect(err.details.kernelSource).toEqual({ text, file: k === '6.18' ? 'subprogs.bpf.c' : null, line: k === '6.18' ? 55 : null });
        expect(err.message).toContain(`subprogs.bpf.c:55:48: ${text}`);
      });
    }

    it('without the plan\'s BTF (no line info), the kernel\'s annotation says where', () => {
      const idx = plan.programs.findIndex((p) => p.name === 'prog_a');
      const raw = new VerifierError('program rejected', { program: 'prog_a', log: POISONED['6.1'], errno: 22, errnoName: 'EINVAL' });
      const err = explainVerifierError(raw, plan, idx, null);
      expect(err.details.source).toBeNull();
      expect(err.message).toContain('at instruction 30: struct task_struct *t = (struct task_struct *)bpf_get_current_task();');
      const err2 = explainVerifierError(new VerifierError('x', { program: 'prog_a', log: POISONED['6.18'] }), plan, idx, null);
      expect(err2.message).toContain('at instruction 30 (subprogs.bpf.c:55): struct task_struct');
    });
  });
});
