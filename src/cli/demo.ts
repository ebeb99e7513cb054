// `corebpf demo`: the README's main job on the embedded default: relocate the bundled
// example object against a bundled Debian kernel's BTF and against this machine's kernel.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Relocator } from '../relocate.js';
import { HOST_BTF_PATH } from '../inputs.js';
import { formatReport } from './relocate.js';

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
  } finally {
    await relocator.close();
  }
  return status;
}
