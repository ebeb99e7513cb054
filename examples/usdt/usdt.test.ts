// examples/usdt through its generated module only: a program built with sys/sdt.h fires
// corebpf:plain(int a, long b, void *p) N times; each firing arrives as a typed Event with
// the argument values the program passed.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// @ts-expect-error -- a plain .mjs build script without type declarations
import { buildUsdtTarget } from '../../test/c/build-test-binaries.mjs';
import { needs, skipWith } from '../../test/kernel.js';
import { load, type Event } from './usdt.gen.js';

const N = 6;

describe('examples/usdt', () => {
  it(`${N} firings of corebpf:plain in one process: their int, long and pointer arguments, the USDT cookie and argument count`, async (ctx) => {
    needs(ctx, 'bpf', 'btf', 'uprobe', 'ringbuf', 'test_binaries');
    // test/c/usdt_target.c: `usdt_target N wait` waits for a line, then fires for i = 1..N
    // corebpf:plain(-i, i * 1000000007, &cells[i % 4]) and prints the sums of what it passed
    const target: string | null = buildUsdtTarget();
    if (!target) skipWith(ctx, 'sys/sdt.h is not installed for the compiler (apt-get install systemtap-sdt-dev) and build/test/usdt_target is not prebuilt');

    const skel = await load();
    const child = spawn(target, [String(N), 'wait'], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
      // attached to this process only (the binary is shared with other tests): once it is
      // mapped, as kernels without BPF cookies place the probe through /proc/PID/maps
      for (let i = 0; i < 200 && !readFileSync(`/proc/${child.pid}/maps`, 'utf8').includes(target); i++) await new Promise((r) => setTimeout(r, 10));
      const rb = await skel.ringbuf('events', 'event');
      await skel.programs.on_plain.attach({ usdt: { binary: target, provider: 'corebpf', name: 'plain', pid: child.pid!, cookie: 0xc0ffeen } });
      child.stdin.end('go\n');
      expect(await exited).toBe(0);
      const [pa, pb, pp] = out.trim().split(' ').map((x) => BigInt(x));

      const events: Event[] = rb.drain();
      expect(events).toHaveLength(N);
      expect(skel.bss.hits).toBe(BigInt(N));
      events.forEach((e, k) => {
        const i = k + 1;
        expect(e).toMatchObject({ pid: child.pid, a: -i, b: BigInt(i) * 1000000007n, cookie: 0xc0ffeen, argc: 3 });
      });
      // the sums the program printed
      expect(BigInt(events.reduce((s, e) => s + e.a, 0))).toBe(pa);
      expect(events.reduce((s, e) => s + e.b, 0n)).toBe(pb);
      expect(events.reduce((s, e) => s + e.p, 0n)).toBe(pp);
      // p = &cells[i % 4] of a long cells[4]: 8 bytes apart, i = 4 at cells[0]
      const base = events[3]!.p;
      expect(events.map((e) => e.p - base)).toEqual([8n, 16n, 24n, 0n, 8n, 16n]);
      rb.close();
    } finally {
      child.kill();
      skel.close();
    }
  });
});
