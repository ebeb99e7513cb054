// examples/execmon through its generated module only: exec a few known commands and
// receive each of them, typed, from the ring buffer.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { needs } from '../../test/kernel.js';
import { load, type Event } from './execmon.gen.js';

describe('examples/execmon', () => {
  it('every exec of our children arrives as an Event: pid, ppid (CO-RE read of real_parent), uid, comm, filename', async (ctx) => {
    needs(ctx, 'bpf', 'btf', 'ringbuf');
    // only our children: other tests exec things at the same time
    const skel = await load({ rodata: { target_ppid: process.pid } });
    try {
      expect(skel.rodata.target_ppid).toBe(process.pid);
      await skel.programs.handle_exec.attach();
      const rb = await skel.ringbuf('events', 'event');

      const t = spawnSync('/bin/true');
      const echo = spawnSync('/bin/echo', ['hello']);
      const env = spawnSync('/usr/bin/env', ['/bin/true']); // two execs in one process: env, then true
      for (const c of [t, echo, env]) expect(c.status).toBe(0);

      const uid = process.getuid!();
      const events: Event[] = rb.drain();
      expect(events).toEqual([
        { pid: t.pid, ppid: process.pid, uid, comm: 'true', filename: '/bin/true' },
        { pid: echo.pid, ppid: process.pid, uid, comm: 'echo', filename: '/bin/echo' },
        { pid: env.pid, ppid: process.pid, uid, comm: 'env', filename: '/usr/bin/env' },
        { pid: env.pid, ppid: process.pid, uid, comm: 'true', filename: '/bin/true' },
      ]);
      expect(skel.bss.execs).toBe(4n);
      expect(skel.bss.dropped).toBe(0n);
      rb.close();
    } finally {
      skel.close();
    }
  });
});
