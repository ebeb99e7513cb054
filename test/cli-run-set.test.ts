// `corebpf run --set` must reach the program (issue 15 part 5): the same exec probe, made
// while the programs are attached, is seen by an unfiltered run and not by a run with
// --set target_uid=4242. (Without execs during the window, ignoring --set looked the same.)
import { spawn, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CLI, obj } from './helpers.js';
import { bpfUsable } from './kernel.js';

const skip = bpfUsable();
if (skip) console.warn(`[cli-run-set] SKIPPED: ${skip}`);

/** run execsnoop with `set`, exec a recognisable probe once attached; the probe's events */
async function probeEvents(set: string): Promise<{ filename: string }[]> {
  const child = spawn(process.execPath, [CLI, 'run', obj('execsnoop'), '--duration', '3s', '--json', '--set', set], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const t0 = Date.now();
  while ((out.match(/"attached":true/g) ?? []).length < 2 && Date.now() - t0 < 150_000) await new Promise((r) => setTimeout(r, 50));
  expect((out.match(/"attached":true/g) ?? []).length, `not attached: ${err}`).toBe(2);
  const probe = spawnSync('/bin/sh', ['-c', 'exec /bin/true corebpf-run-set-test'], { stdio: 'ignore' });
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  expect(err).toBe('');
  expect(code).toBe(0);
  const lines = out.trim().split('\n').map((l) => JSON.parse(l) as { type: string; data?: { pid?: number; filename: string } });
  return lines.filter((l) => l.type === 'event' && l.data?.pid === probe.pid).map((l) => l.data!);
}

describe.skipIf(skip !== null)('corebpf run --set', () => {
  it('target_uid=0 (all users) sees the probe; target_uid=4242 filters it out', async () => {
    const all = await probeEvents('target_uid=0');
    expect(all.map((e) => e.filename)).toEqual(['/bin/sh', '/bin/true']);
    const none = await probeEvents('target_uid=4242');
    expect(none).toEqual([]);
  });
});
