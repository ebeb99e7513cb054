// check sends each object only the kallsyms lines it can match (src/check/kernel-files.ts):
// what libbpf resolves from them must be exactly what it resolves from the whole file.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { kallsymsFor, textsFor } from '../src/check/kernel-files.js';
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
