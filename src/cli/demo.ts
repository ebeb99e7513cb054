// `corebpf demo`: the README's main job on the embedded default: relocate the bundled
// example object against a bundled Debian kernel's BTF and against this machine's kernel.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Relocator } from '../relocate.js';
import { HOST_BTF_PATH } from '../inputs.js';
import { formatReport } from './relocate.js';
import { spawnSync } from 'node:child_process';
import { BpfObject } from '../host/object.js';
import { PermissionError } from '../errors.js';
import { jsonValue } from './run.js';

const root = fileURLToPath(new URL('..', import.meta.url));
export const DEMO_OBJECT = `${root}testdata/progs/execsnoop.bpf.o`;

interface FixtureEntry { file: string; arch: string; kernelRelease: string; base?: string | null }

/** The bundled kernel BTF the demo uses: Debian 12's amd64 kernel (6.1), from the manifest. */
export function demoKernelBtf(): { path: string; release: string } {
  const manifest = JSON.parse(readFileSync(`${root}testdata/btf/manifest.json`, 'utf8')) as FixtureEntry[];
  const vmlinux = manifest.filter((e) => !e.base);
  const pick = vmlinux.find((e) => e.arch === 'amd64' && e.kernelRelease.startsWith('6.1.')) ?? vmlinux[0];
  if (!pick) throw new Error('testdata/btf/manifest.json lists no kernel BTF');
  return { path: `${root}testdata/btf/${pick.file}`, release: pick.kernelRelease };
}

export async function demoCommand(argv: string[]): Promise<number> {
  parseArgs({ args: argv, options: {} });
  const relocator = new Relocator({ size: 1 });
  let status = 0;
  try {
    const bundled = demoKernelBtf();
    const targets = [{ name: `bundled Debian kernel ${bundled.release}`, btf: bundled.path, release: bundled.release }];
    if (existsSync(HOST_BTF_PATH)) {
      const release = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
      targets.push({ name: `this machine's kernel ${release}`, btf: HOST_BTF_PATH, release });
    } else {
      console.log(`(this machine has no ${HOST_BTF_PATH}: skipping the relocation against the running kernel)\n`);
    }
    for (const t of targets) {
      const r = await relocator.relocate(DEMO_OBJECT, { btf: t.btf, kernelRelease: t.release });
      console.log(`== ${t.name}`);
      console.log(formatReport('execsnoop.bpf.o', t.btf, r));
      console.log(`plan: ${r.plan.maps.length} maps, ${r.plan.programs.length} programs (${r.plan.programs.map((p) => `${p.name}: ${Buffer.from(p.insns, 'base64').length / 8} insns`).join(', ')})\n`);
      if (!r.ok) status = 1;
    }
    if (existsSync(HOST_BTF_PATH)) status = Math.max(status, await liveDemo(relocator));
  } finally {
    await relocator.close();
  }
  return status;
}

/** When privileged: load the example into this kernel, attach it, exec a few programs and
 * print the events it saw for them. */
async function liveDemo(relocator: Relocator): Promise<number> {
  if (process.geteuid?.() !== 0) {
    console.log('(not root: skipping the live part -- loading into this kernel needs root or CAP_BPF + CAP_PERFMON)');
    return 0;
  }
  console.log('== live: execsnoop loaded into this kernel');
  let obj: BpfObject;
  try {
    obj = await BpfObject.open(DEMO_OBJECT, { relocator });
    await obj.load();
  } catch (e) {
    if (e instanceof PermissionError) {
      console.log(`(this kernel does not let us load BPF: ${e.message})`);
      return 0;
    }
    throw e;
  }
  try {
    for (const p of obj.programs) {
      await p.attach();
      console.log(`attached ${p.name} (${p.section})`);
    }
    const events = await obj.ringbuf('events', { type: 'event' });
    const pids = new Set<number>();
    for (const argv of [['/bin/true'], ['/bin/echo', 'hello from corebpf'], ['/bin/uname', '-r']]) {
      const r = spawnSync(argv[0]!, argv.slice(1), { stdio: 'ignore' });
      if (r.pid) pids.add(r.pid);
    }
    const seen: unknown[] = [];
    const deadline = Date.now() + 3000;
    while (seen.length < pids.size && Date.now() < deadline) {
      await events.wait(200);
      for (const ev of events.poll()) if (pids.has((ev as { pid: number }).pid)) seen.push(ev);
    }
    events.close();
    for (const ev of seen) console.log(`event: ${jsonValue(ev)}`);
    const counts = [...obj.map('counts').entries()];
    console.log(`counts map (uid -> execs): ${counts.map(([k, v]) => `${jsonValue(k)} -> ${jsonValue(v)}`).join(', ')}`);
    if (seen.length < pids.size) {
      console.log(`only ${seen.length} of the ${pids.size} execs were seen`);
      return 1;
    }
    return 0;
  } finally {
    obj.close();
  }
}
