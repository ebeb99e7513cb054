// check --verify inside a lab guest: load every plan of the job into this kernel, one
// program at a time (a rejection is that program's own verdict), close it again, and write
// the verifier's verdicts to RESULTS; nothing is attached. Run by /init from /corebpf:
//   node /lab/verify-guest.mjs JOB.json RESULTS.json
// JOB: { items: [{ key, plan }] } (LoadPlan objects). Progress goes to the console as
// "COREBPF-VERIFY-PROGRESS done/total" lines (the host shows them on its terminal).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { BpfObject, VerifierError } from '/corebpf/dist/index.js';

const [jobPath, outPath] = process.argv.slice(2);
const job = JSON.parse(readFileSync(jobPath, 'utf8'));
const firstLine = (s) => String(s ?? '').split('\n')[0].slice(0, 500);
const vmlinux = '/sys/kernel/btf/vmlinux';
const btfSha256 = existsSync(vmlinux) ? createHash('sha256').update(readFileSync(vmlinux)).digest('hex') : null;

const total = job.items.reduce((n, it) => n + it.plan.programs.length, 0);
let done = 0, step = 0;
const results = [];
for (const [i, item] of job.items.entries()) {
  const programs = [];
  for (const [j, p] of item.plan.programs.entries()) {
    const pinRoot = `/sys/fs/bpf/verify-${i}-${j}`;
    mkdirSync(pinRoot, { recursive: true });
    let obj = null;
    try {
      obj = BpfObject.fromPlan(item.plan, { pinRoot });
      await obj.load({ programs: [p.name] });
      programs.push({ program: p.name, status: 'accepted' });
    } catch (e) {
      if (e instanceof VerifierError) {
        const d = e.details;
        const src = d.source ? `${d.source.file}:${d.source.line}${d.source.text ? `: ${String(d.source.text).trim()}` : ''}` : d.kernelSource?.text ? `insn ${d.insn}: ${String(d.kernelSource.text).trim()}` : undefined;
        programs.push({
          program: p.name, status: 'rejected', errno: e.errnoName || undefined,
          ...(d.insn !== null && d.insn !== undefined ? { insn: d.insn } : {}),
          message: firstLine(d.summary || e.message), ...(src ? { source: src } : {}),
          ...(d.relocation ? { note: firstLine(e.message.split('\n').find((l) => /poisoned|references map|calls a kfunc/.test(l))?.trim()) } : {}),
        });
      } else {
        programs.push({ program: p.name, status: 'not-loaded', note: `${e?.name ?? 'Error'}: ${firstLine(e?.message ?? e)}` });
      }
    } finally {
      try { obj?.close(); } catch { /* closing is best effort: the VM is thrown away */ }
    }
    done++;
    // about a hundred progress lines at most over the console
    if (done === total || done * 100 >= (step + 1) * total) { step = Math.floor((done * 100) / total); console.log(`COREBPF-VERIFY-PROGRESS ${done}/${total}`); }
  }
  results.push({ key: item.key, programs });
}
writeFileSync(outPath, JSON.stringify({ version: 1, kernelRelease: release(), btfSha256, results }));
