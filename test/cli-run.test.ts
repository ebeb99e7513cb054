// `corebpf run` and the live part of `corebpf demo` on the real kernel (root only).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLI, ROOT, obj, runNode } from './helpers.js';
import { needs, needsEach, skipWith } from './kernel.js';


describe('corebpf run', () => {
  needsEach('bpf', 'ringbuf');
  it('loads, attaches by section, streams decoded ring buffer events, prints maps, exits after --duration', async () => {
    const child = spawn(process.execPath, [CLI, 'run', obj('execsnoop'), '--duration', '3s', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    let err = '';
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    // wait for both programs to be attached, then exec something we can recognise
    const t0 = Date.now();
    while ((out.match(/"attached":true/g) ?? []).length < 2 && Date.now() - t0 < 150_000) await new Promise((r) => setTimeout(r, 50));
    const probe = spawnSync('/bin/sh', ['-c', 'exec /bin/true corebpf-run-test'], { stdio: 'ignore' });
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(err).toBe('');
    expect(code).toBe(0);
    const lines = out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ type: 'loaded', object: 'execsnoop' });
    expect(lines.filter((l) => l.type === 'attach' && l.attached === true).map((l) => l.program).sort())
      .toEqual(['tracepoint__syscalls__sys_enter_execve', 'tracepoint__syscalls__sys_exit_execve']);
    // the shell's pid execs /bin/sh, then (exec) /bin/true: both execs are seen, in order
    const mine = lines.filter((l) => l.type === 'event' && (l.data as { pid?: number }).pid === probe.pid);
    expect(mine.map((l) => (l.data as { filename: string }).filename)).toEqual(['/bin/sh', '/bin/true']);
    expect(mine[0]!.map).toBe('events');
    const counts = lines.find((l) => l.type === 'map' && l.map === 'counts') as { entries: [number, string][] } | undefined;
    expect(counts).toBeDefined();
    const root = counts!.entries.find(([uid]) => uid === 0);
    expect(Number(root![1])).toBeGreaterThanOrEqual(1);
  });

  it('--set changes a const volatile global before load (target_uid filters every exec out)', async () => {
    const r = await runNode([CLI, 'run', obj('execsnoop'), '--duration', '1500ms', '--json', '--set', 'target_uid=4242']);
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.filter((l) => l.type === 'event')).toEqual([]);
  });

  it('a program that fails to attach: named with the reason, nothing runs, exit 1; --disable leaves it out', async () => {
    const r = await runNode([CLI, 'run', obj('attach_fail'), '--duration', '1s', '--json']);
    expect(r.status).toBe(1);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.filter((l) => l.type === 'attach').map((l) => [l.program, l.attached])).toEqual([['on_getpid', true], ['on_nothing', false]]);
    const bad = lines.find((l) => l.program === 'on_nothing')!;
    expect(bad.error).toMatch(/corebpf_none:no_such_event' not found/);
    expect(lines.at(-1)).toMatchObject({ type: 'attach-failed', failed: ['on_nothing'] });
    expect(lines.some((l) => l.type === 'map')).toBe(false); // it stopped before running
    const ok = await runNode([CLI, 'run', obj('attach_fail'), '--duration', '1s', '--disable', 'on_nothing']);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/on_getpid: attached/);
    expect(ok.stdout).not.toMatch(/on_nothing/);
  });

  it('struct_ops maps are registered while it runs (both kinds: needs struct_ops links) and unregistered at the end', async (ctx) => {
    needs(ctx, 'struct_ops_link');
    const avail = () => readFileSync('/proc/sys/net/ipv4/tcp_available_congestion_control', 'utf8').trim().split(/\s+/);
    // corebpf_ca_link2 implements the same ops under corebpf_ca_link's name (for
    // updateStructOps): both cannot be registered at once, so it is left out
    const child = spawn(process.execPath, [CLI, 'run', obj('struct_ops'), '--duration', '2s', '--json', '--disable', 'corebpf_ca_link2'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let seen: string[] = [];
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      // registered once both attach lines are out: look while it still runs
      const registered = out.split('\n').filter((l) => /^\{.*"type":"attach".*"map":"corebpf_ca.*"attached":true/.test(l));
      if (!seen.length && registered.length === 2) seen = avail();
    });
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(code).toBe(0);
    const lines = out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.filter((l) => l.type === 'attach' && l.map).map((l) => [l.map, l.attached])).toEqual([['corebpf_ca', true], ['corebpf_ca_link', true]]);
    expect(seen).toContain('corebpf_ca');
    expect(seen).toContain('corebpf_ca_lnk');
    expect(avail()).not.toContain('corebpf_ca');
    expect(avail()).not.toContain('corebpf_ca_lnk');
  });

  it('exit 2 on usage errors', async () => {
    expect((await runNode([CLI, 'run'])).status).toBe(2);
    expect((await runNode([CLI, 'run', obj('execsnoop'), '--duration', 'soon'])).status).toBe(2);
  });
});

describe('corebpf demo', () => {
  needsEach('bpf', 'ringbuf', 'btf');
  it('relocates against the bundled and this kernel, then loads, attaches and prints real events', async () => {
    const r = await runNode([CLI, 'demo'], { timeoutMs: 300_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/== bundled Debian kernel 6\.1\./);
    expect(r.stdout).toMatch(/== this machine's kernel/);
    expect(r.stdout).toMatch(/attached tracepoint__syscalls__sys_enter_execve/);
    expect(r.stdout).toMatch(/event: \{"pid":\d+,"ppid":\d+,"uid":0,"comm":"\w+","filename":"\/bin\/true"\}/);
    expect(r.stdout).toMatch(/event: .*"filename":"\/bin\/uname"/);
  });
});

describe('tracefs closed to the caller', () => {
  it('an unprivileged process reading a root-only tracefs gets PermissionError naming what to grant, not "not mounted"', async (ctx) => {
    needs(ctx, 'bpf'); // root, to spawn the child as another user
    const dir = '/sys/kernel/tracing';
    if (!existsSync(`${dir}/events`)) skipWith(ctx, `tracefs is not mounted at ${dir}`);
    if (statSync(dir).mode & 0o005) skipWith(ctx, `${dir} is readable by everyone here (mode ${(statSync(dir).mode & 0o777).toString(8)})`);
    const mod = `${ROOT}build/tsc/host/tracefs.js`;
    if (!existsSync(mod)) skipWith(ctx, `${mod} is not built (make all)`);
    // npx's node (CI's Node 24 pass) lives under root's private ~/.npm: uid 65534 cannot run it
    const canRun = spawnSync(process.execPath, ['-e', '0'], { uid: 65534, gid: 65534 });
    if (canRun.error || canRun.status !== 0) skipWith(ctx, `uid 65534 cannot run this node (${process.execPath}): ${canRun.error?.message ?? `exit ${canRun.status}`}`);
    const script = `import(${JSON.stringify(mod)}).then((m) => { try { m.tracefsRoot({ mount: false }); console.log('no error'); } catch (e) { console.log(e.name + ': ' + e.message); } })`;
    const r = await runNode(['-e', script], { uid: 65534, gid: 65534 });
    expect(r.stdout).toMatch(/^PermissionError: tracefs at \/sys\/kernel\/tracing is mounted but this process may not read it \(EACCES/);
    expect(r.stdout).toMatch(/CAP_DAC_READ_SEARCH/);
  });
});
