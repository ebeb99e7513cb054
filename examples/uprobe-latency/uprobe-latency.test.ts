// examples/uprobe-latency through its generated module only: a target calls a function N
// times; the histogram holds N calls, in buckets that agree with the summed latency.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error -- a plain .mjs build script without type declarations
import { buildUprobeTarget } from '../../test/c/build-test-binaries.mjs';
import { needs } from '../../test/kernel.js';
import { load } from './uprobe-latency.gen.js';

const FUNC = 'corebpf_uprobe_target'; // test/c/uprobe_target.c: `uprobe_target N` calls it N times
const N = 1000;

describe('examples/uprobe-latency', () => {
  const dir = mkdtempSync(join(tmpdir(), 'corebpf-uprobe-latency-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it(`${N} calls of a function: ${N} in the histogram, each bucket [2^i, 2^(i+1)) ns consistent with the total time`, async (ctx) => {
    needs(ctx, 'bpf', 'btf', 'uprobe', 'test_binaries');
    // a copy of our own: uprobes follow the file (inode), and other tests run the shared binary
    const built: string = buildUprobeTarget();
    const target = join(dir, 'uprobe_target');
    copyFileSync(built, target);
    const skel = await load();
    try {
      await skel.programs.func_entry.attach({ uprobe: { binary: target, symbol: FUNC } });
      await skel.programs.func_exit.attach({ uprobe: { binary: target, symbol: FUNC } }); // a uretprobe, from its section
      const t0 = process.hrtime.bigint();
      expect(execFileSync(target, [String(N)], { encoding: 'utf8' }).trim()).toBe(String(N * N));
      const wall = process.hrtime.bigint() - t0;

      const hist = [...skel.maps.hist.entries()].sort(([a], [b]) => a - b);
      expect(hist.map(([slot]) => slot)).toEqual([...Array(32).keys()]); // an array map: every bucket
      const counts = hist.map(([, c]) => c);
      expect(counts.reduce((a, c) => a + c, 0n)).toBe(BigInt(N));
      expect(skel.bss.unmatched).toBe(0n);
      expect([...skel.maps.starts.keys()]).toEqual([]); // every entry met its return

      // the sum of the latencies lies within what the buckets allow, and within the run's wall time
      const total = skel.bss.total_ns;
      const low = counts.reduce((a, c, i) => a + c * (i === 0 ? 0n : 1n << BigInt(i)), 0n);
      const high = counts.reduce((a, c, i) => a + c * (1n << BigInt(i + 1)), 0n);
      expect(total).toBeGreaterThanOrEqual(low);
      expect(total).toBeLessThan(high);
      expect(total).toBeLessThan(wall);
      // a call through a uprobe and a uretprobe (two traps into the kernel) takes more than
      // 32 ns and, even on a loaded machine, most take well under a millisecond (2^20 ns)
      const used = counts.flatMap((c, i) => (c > 0n ? [i] : []));
      expect(Math.min(...used)).toBeGreaterThanOrEqual(5);
      const fast = counts.slice(0, 20).reduce((a, c) => a + c, 0n);
      expect(fast * 2n).toBeGreaterThan(BigInt(N));
    } finally {
      skel.close();
    }
  });
});
