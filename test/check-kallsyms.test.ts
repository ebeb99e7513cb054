// check sends each object only the kallsyms lines it can match (src/check/kernel-files.ts):
// what libbpf resolves from them must be exactly what it resolves from the whole file.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kallsymsFor, kallsymsForAll, readKernelTexts, textsFor } from '../src/check/kernel-files.js';
import { relocate } from '../dist/index.js';
import { BTF_DIR, PROGS, fixtureBytes } from './helpers.js';

const KERNEL = 'amd64-6.12.107'; // has the kfuncs ksyms.bpf.o calls (bpf_task_from_pid: 6.2+)
const text = (f: string) => execFileSync('xz', ['-dc', `${BTF_DIR}/${f}`], { maxBuffer: 1 << 28, encoding: 'latin1' });
const kallsyms = text(`${KERNEL}.kallsyms.xz`);
const kconfig = text(`${KERNEL}.config.xz`);
const btf = fixtureBytes(`${KERNEL}.btf.xz`);
const object = (n: string) => new Uint8Array(readFileSync(`${PROGS}/${n}.bpf.o`));
const opts = { btf, kconfig, kernelRelease: '6.12.107+deb13-amd64', machine: 'x86_64' };
const addressOf = (name: string) => BigInt(`0x${kallsyms.split('\n').find((l) => l.split(' ')[2] === name)!.split(' ')[0]}`);
/** whether some program's instructions hold the low 32 bits of addr as an immediate (ld_imm64's first half) */
function loadsAddress(plan: { programs: { insns: string }[] }, addr: bigint): boolean {
  const low = Buffer.alloc(4);
  low.writeUInt32LE(Number(addr & 0xffffffffn));
  return plan.programs.some((p) => {
    const b = Buffer.from(p.insns, 'base64');
    for (let i = 0; i + 8 <= b.length; i += 8) if (b[i] === 0x18 && b.subarray(i + 4, i + 8).equals(low)) return true;
    return false;
  });
}

describe('kallsyms filtered per object', () => {
  it('keeps a few lines, among them every symbol the object names, in file order', () => {
    const mine = kallsymsFor(object('ksyms'), kallsyms);
    expect(mine.length).toBeLessThan(kallsyms.length / 100);
    const names = mine.trimEnd().split('\n').map((l) => l.split(' ')[2]);
    expect(names).toEqual(expect.arrayContaining(['bpf_prog_active', 'vfs_read']));
    expect(names).not.toContain('vfs_write');
    const lines = mine.trimEnd().split('\n');
    const positions = lines.map((l) => kallsyms.indexOf(`${l}\n`));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    // an object without __ksym externs gets none; one without .kconfig no config
    expect(textsFor(object('execsnoop'), { kallsyms, kconfig })).toEqual({});
  });

  it('the lines for all objects at once give each object what the whole file gives it', () => {
    const all = readdirSync(PROGS).filter((f) => f.endsWith('.o')).map((f) => new Uint8Array(readFileSync(`${PROGS}/${f}`)));
    const some = kallsymsForAll(all, kallsyms);
    expect(some.length).toBeLessThan(kallsyms.length / 100);
    expect(some).toContain(' vfs_read\n');
    for (const o of all) expect(kallsymsFor(o, some)).toBe(kallsymsFor(o, kallsyms));
  });

  it('check keeps a kernel\'s lines for its objects\' names in the cache of kernel files, and reads them from there', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'corebpf-ksyms-'));
    const saved = process.env.COREBPF_CACHE_DIR;
    process.env.COREBPF_CACHE_DIR = dir;
    try {
      const objects = [object('ksyms'), object('host_env'), object('execsnoop')];
      const k = { kallsyms: `${KERNEL}.kallsyms.xz` };
      const first = await readKernelTexts(BTF_DIR, k, objects);
      expect(first.kallsyms).toBe(kallsymsForAll(objects, kallsyms));
      const kept = readdirSync(join(dir, 'btf')).filter((f) => /\.ksyms-[0-9a-f]{32}$/.test(f));
      expect(kept).toHaveLength(1);
      // a second run reads what was kept (marked here), not the symbols
      writeFileSync(join(dir, 'btf', kept[0]!), 'ffffffff81000000 T vfs_read\n');
      expect((await readKernelTexts(BTF_DIR, k, objects)).kallsyms).toBe('ffffffff81000000 T vfs_read\n');
      // other names are another entry
      const other = await readKernelTexts(BTF_DIR, k, [object('ksyms')]);
      expect(other.kallsyms).toBe(kallsymsFor(object('ksyms'), kallsyms));
      expect(readdirSync(join(dir, 'btf')).filter((f) => f.includes('.ksyms-'))).toHaveLength(2);
      // objects without __ksym externs: nothing read, nothing kept
      expect((await readKernelTexts(BTF_DIR, k, [object('execsnoop')])).kallsyms).toBe('');
    } finally {
      if (saved === undefined) delete process.env.COREBPF_CACHE_DIR;
      else process.env.COREBPF_CACHE_DIR = saved;
    }
  });

  it.each(['ksyms', 'host_env'])('%s: the plan is the same as with the whole file, the address the kernel\'s', async (name) => {
    const whole = await relocate(object(name), { ...opts, kallsyms });
    const part = await relocate(object(name), { ...opts, kallsyms: kallsymsFor(object(name), kallsyms) });
    expect(part.plan).toEqual(whole.plan);
    expect(loadsAddress(whole.plan, addressOf('vfs_read'))).toBe(true);
  }, 60_000);

  it('an ambiguous symbol stays ambiguous, and a d symbol\'s .llvm. suffix still matches', async () => {
    const o = object('host_env');
    const extra = 'ffffffff81111110 T vfs_read\n';
    const twice = `${kallsyms}${extra}`;
    const errOf = (p: Promise<unknown>) => p.then(() => null, (e: Error) => e.message);
    const whole = await errOf(relocate(o, { ...opts, kallsyms: twice }));
    expect(whole).toMatch(/ambiguous|vfs_read/);
    expect(await errOf(relocate(o, { ...opts, kallsyms: kallsymsFor(o, twice) }))).toBe(whole);

    const llvm = 'ffffffff82222220 d vfs_read.llvm.1234567\n';
    const only = kallsyms.split('\n').filter((l) => l.split(' ')[2] !== 'vfs_read').join('\n') + `\n${llvm}`;
    expect(kallsymsFor(o, only)).toContain(llvm);
    const a = await relocate(o, { ...opts, kallsyms: only });
    const b = await relocate(o, { ...opts, kallsyms: kallsymsFor(o, only) });
    expect(b.plan).toEqual(a.plan);
    expect(loadsAddress(a.plan, 0xffffffff82222220n)).toBe(true);
  }, 60_000);
});
