// The on-disk cache end to end, on the running kernel: a process opens and loads execsnoop
// with a cacheDir (a miss: its worker relocates, the entries are written); a second process
// with equal inputs starts no worker, reads no kernel BTF, and its programs load, attach and
// report an exec through the ring buffer.
import { execFileSync } from 'node:child_process';
import { mkdtempSync as mkdtemp, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { obj, runNode } from './helpers.js';
import { needsEach } from './kernel.js';

const DIST = new URL('../dist/index.js', import.meta.url).pathname;
const made: string[] = [];
afterAll(() => { for (const d of made) rmSync(d, { recursive: true, force: true }); });
function mkdtempSync(prefix: string): string {
  const d = mkdtemp(prefix);
  made.push(d);
  return d;
}

/** a child process: open + load + attach execsnoop, exec /bin/true, report */
function child(cacheDir: string, extra = '', between = ''): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const script = `
    import { execFileSync } from 'node:child_process';
    import fs from 'node:fs';
    import { createRequire, syncBuiltinESMExports } from 'node:module';
    // every read of the kernel's BTF in this process is seen
    const btfReads = [];
    for (const f of ['readFileSync', 'openSync']) { // readInputShared opens and reads
      const orig = fs[f];
      fs[f] = function (p, ...rest) { if (String(p).startsWith('/sys/kernel/btf/vmlinux')) btfReads.push(String(p)); return orig.call(this, p, ...rest); };
    }
    syncBuiltinESMExports(); // the named imports of node:fs see the wrappers too
    const { BpfObject, Relocator } = await import(${JSON.stringify(DIST)});
    const relocator = new Relocator();
    const obj = await BpfObject.open(${JSON.stringify(obj('execsnoop'))}, { relocator, cacheDir: ${JSON.stringify(cacheDir)} ${extra} });
    ${between}
    await obj.load();
    for (const p of obj.programs) await p.attach();
    const rb = await obj.ringbuf('events', { type: 'event' });
    execFileSync('/bin/true');
    const events = rb.drain().filter((e) => e.filename === '/bin/true');
    // the watch sees a read through a named import (as the library's), after the ones counted
    const { openSync: namedOpen, closeSync } = await import('node:fs');
    const seen = [...btfReads];
    closeSync(namedOpen('/sys/kernel/btf/vmlinux', 'r'));
    console.log(JSON.stringify({
      workers: relocator.pool.started, btfReads: seen, watchWorks: btfReads.length === seen.length + 1, events: events.length,
      // comlink is loaded only for a worker (src/lazy-modules.ts); Node 24 itself loads worker_threads
      comlink: Object.keys(createRequire(import.meta.url).cache).filter((k) => k.includes('/comlink/')).length,
      progIds: obj.programs.map((p) => p.id), sources: obj.plan.sources, relocations: obj.relocations.length,
    }));
    obj.close();`;
  return runNode(['--input-type=module', '-e', script], { timeoutMs: 120_000 });
}

describe('on-disk cache on the running kernel', () => {
  needsEach('bpf', 'btf', 'ringbuf');

  it('a second process with equal inputs loads from the cache without a worker', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'corebpf-hostcache-'));
    const first = await child(dir);
    expect(first.stderr).toBe('');
    const a = JSON.parse(first.stdout) as { workers: number; comlink: number; btfReads: string[]; watchWorks: boolean; events: number; progIds: number[]; sources: unknown; relocations: number };
    expect(a.workers).toBe(1);
    expect(a.comlink).toBe(2); // comlink and its node adapter
    // the worker reads the kernel's BTF into wasm memory itself: this thread never holds it
    expect(a.watchWorks).toBe(true);
    expect(a.btfReads).toEqual([]);
    expect(readdirSync(join(dir, 'plans')).filter((n) => n.endsWith('.entry')).sort().map((n) => n.split('-')[0])).toEqual(['open', 'relocate']);

    const second = await child(dir);
    expect(second.stderr).toBe('');
    const b = JSON.parse(second.stdout) as typeof a;
    expect(b.workers).toBe(0);
    expect(b.comlink).toBe(0); // nor loads what only a worker needs (start-up time)
    expect(b.watchWorks).toBe(true);
    expect(b.btfReads).toEqual([]);
    expect(b.events).toBeGreaterThanOrEqual(1); // the programs run: the exec was reported
    expect(b.progIds).toHaveLength(2);
    for (const id of b.progIds) expect(id).toBeGreaterThan(0);
    expect(b.sources).toEqual(a.sources);
    expect(b.relocations).toBe(a.relocations);
    expect(b.relocations).toBeGreaterThan(0);
  }, 240_000);

  it('rodata values are a hit; an adjustment or a kconfig text given misses the relocation', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'corebpf-hostcache-'));
    expect(JSON.parse((await child(dir)).stdout).workers).toBe(1);
    // rodata values are written into the plan's maps at load: the relocation is the same
    expect(JSON.parse((await child(dir, ', rodata: { target_uid: 4242 }')).stdout).workers).toBe(0);
    const adjusted = await child(dir, '', "obj.program('tracepoint__syscalls__sys_exit_execve').setAutoload(false);");
    expect(adjusted.stderr).toBe('');
    const r = JSON.parse(adjusted.stdout) as { workers: number; progIds: number[] };
    expect(r.workers).toBe(1); // the opened spec was a hit, the relocation was not
    expect(r.progIds).toHaveLength(1);
    const kconfig = await child(dir, ", kconfig: 'CONFIG_HZ=1000'");
    expect(JSON.parse(kconfig.stdout).workers).toBe(1);
    // and each of them is a hit the second time
    expect(JSON.parse((await child(dir, '', "obj.program('tracepoint__syscalls__sys_exit_execve').setAutoload(false);")).stdout).workers).toBe(0);
  }, 240_000);

  it('the cache is opt-in: without cacheDir or COREBPF_CACHE_DIR nothing is written', () => {
    const dir = mkdtempSync(join(tmpdir(), 'corebpf-hostcache-'));
    const script = `
      import { BpfObject } from ${JSON.stringify(DIST)};
      const obj = await BpfObject.open(${JSON.stringify(obj('execsnoop'))});
      await obj.load(); obj.close();`;
    const env = { ...process.env, XDG_CACHE_HOME: dir, HOME: dir };
    delete env.COREBPF_CACHE_DIR;
    execFileSync(process.execPath, ['--input-type=module', '-e', script], { env, stdio: 'pipe' });
    expect(readdirSync(dir)).toEqual([]);
  }, 120_000);
});
