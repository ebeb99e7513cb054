// BPF iterators on the real kernel: SEC("iter/task") attached by section (a BPF_TRACE_ITER
// link), each Link.readIter() a new iteration (BPF_ITER_CREATE, read to the end), and what the
// program printed with BPF_SEQ_PRINTF checked against /proc: every thread of this process is
// there with its tgid and comm. Runs here and in every lab kernel (iter/task: Linux 5.8+).
import { readdirSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { BpfObject, CorebpfError, Relocator } from '../dist/index.js';
import { needs, skipWith } from './kernel.js';

const OBJ = new URL('../testdata/progs/btf_tracing.bpf.o', import.meta.url).pathname;
const relocator = new Relocator({ size: 1 });
afterAll(() => relocator.close());

/** this process's threads that live through the whole test: tid -> comm */
function threads(): Map<number, string> {
  const out = new Map<number, string>();
  for (const t of readdirSync('/proc/self/task')) {
    try {
      out.set(Number(t), readFileSync(`/proc/self/task/${t}/comm`, 'utf8').trimEnd());
    } catch {
      // the thread ended while we listed
    }
  }
  return out;
}

describe('iter/task (btf_tracing.bpf.c dump_task)', () => {
  it('each readIter() is a new run that lists every thread of this process with its tgid and comm', async (ctx) => {
    needs(ctx, 'bpf', 'btf', 'iter_task');
    // only the iterator: the object's tp_btf program needs task storage (5.11+), which
    // load({ programs }) leaves out with its map
    const obj = await BpfObject.open(OBJ, { relocator });
    try {
      await obj.load({ programs: ['dump_task'] });
      const link = await obj.program('dump_task').attach();
      expect(link.info().typeName).toBe('iter');
      const before = threads();
      const runs = [link.readIter().toString('utf8'), link.readIter().toString('utf8')];
      const after = threads();
      for (const text of runs) {
        const lines = text.split('\n').filter(Boolean);
        expect(lines[0]).toBe('    pid     tgid comm');
        const rows = new Map(lines.slice(1).map((l) => {
          const m = /^ *(\d+) +(\d+) (.*)$/.exec(l);
          expect(m, `row '${l}'`).not.toBeNull();
          return [Number(m![1]), { tgid: Number(m![2]), comm: m![3]! }] as const;
        }));
        expect(rows.get(2)).toEqual({ tgid: 2, comm: 'kthreadd' });
        let ours = 0;
        for (const [tid, comm] of before) {
          if (after.get(tid) !== comm) continue; // ended or renamed meanwhile
          expect(rows.get(tid), `thread ${tid} (${comm})`).toEqual({ tgid: process.pid, comm });
          ours++;
        }
        expect(ours).toBeGreaterThanOrEqual(2); // the main thread and libuv/V8 threads
      }
      link.close();
    } finally {
      obj.close();
    }
  });

  it('iter: { pid } lists the threads of that process only (task iterator parameters, Linux 6.1+)', async (ctx) => {
    needs(ctx, 'bpf', 'btf', 'iter_task');
    const [maj, min] = release().split('.').map(Number) as [number, number];
    if (maj < 6 || (maj === 6 && min < 1)) skipWith(ctx, `kernel ${release()}: task iterators take a pid or tid from Linux 6.1 ("bpf: Parameterize task iterators.")`);
    const obj = await BpfObject.open(OBJ, { relocator });
    try {
      await obj.load({ programs: ['dump_task'] });
      const link = await obj.program('dump_task').attach({ iter: { pid: process.pid } });
      const rows = link.readIter().toString('utf8').split('\n').filter(Boolean).slice(1);
      expect(rows.length).toBeGreaterThanOrEqual(2);
      expect(rows.map((l) => Number(/^ *\d+ +(\d+) /.exec(l)![1]))).toEqual(rows.map(() => process.pid));
      link.close();
    } finally {
      obj.close();
    }
  });

  it('readIter() of a link that is not an iterator says so', async (ctx) => {
    needs(ctx, 'bpf', 'btf', 'ringbuf');
    const obj = await BpfObject.open(new URL('../testdata/progs/execsnoop.bpf.o', import.meta.url).pathname, { relocator });
    try {
      await obj.load();
      const link = await obj.program('tracepoint__syscalls__sys_enter_execve').attach();
      expect(() => link.readIter()).toThrow(CorebpfError);
      expect(() => link.readIter()).toThrow(/tracepoint syscalls:sys_enter_execve, not an iterator: readIter\(\) is for iter\/ programs/);
      link.close();
    } finally {
      obj.close();
    }
  });
});
