// The lab's results: per kernel, passed / failed / skipped-with-reason, boots and retries;
// printed as a table and written to build/lab/report.{json,md}.
import { gunzipSync } from 'node:zlib';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function decodeResults(b64) {
  const json = gunzipSync(Buffer.from(b64, 'base64')).toString('utf8');
  return JSON.parse(json);
}

/** counts and notable items of one kernel's run */
export function summarize(kernel, run) {
  const tests = run.results?.tests ?? [];
  const by = (s) => tests.filter((t) => t.state === s);
  const skipped = by('skipped');
  const reasons = new Map();
  for (const t of skipped) {
    const r = t.note ?? '(no reason given)';
    reasons.set(r, (reasons.get(r) ?? 0) + 1);
  }
  return {
    kernel: kernel.name, arch: kernel.arch, release: kernel.release, packages: kernel.packages,
    unpinned: kernel.unpinned ?? null,
    outcome: run.outcome, why: run.why ?? null, accel: run.accel ?? null,
    attempts: run.attempts, bootFailures: run.bootFailures, crashes: run.crashes, retried: run.retried ?? [],
    bootSeconds: run.bootMs != null ? +(run.bootMs / 1000).toFixed(1) : null,
    totalSeconds: run.totalMs != null ? +(run.totalMs / 1000).toFixed(1) : null,
    vitestExit: run.exitCode ?? null,
    passed: by('passed').length, failed: by('failed').length, skipped: skipped.length,
    skipReasons: [...reasons].map(([reason, count]) => ({ reason, count })),
    failures: by('failed').map((t) => ({ file: t.file, name: t.name, error: t.error })),
    // a run without results has nothing else to say why: what the guest printed last
    consoleTail: run.results ? null : run.tail ?? null,
  };
}

export function ok(s) {
  return s.outcome === 'ran' && s.failed === 0 && s.vitestExit === 0 && s.passed > 0;
}

export function table(summaries) {
  const rows = [['kernel', 'release', 'result', 'passed', 'failed', 'skipped', 'boots', 'boot s', 'total s']];
  for (const s of summaries) {
    rows.push([s.kernel, s.release, ok(s) ? 'ok' : s.outcome === 'ran' ? 'FAILED' : s.outcome.toUpperCase(),
      String(s.passed), String(s.failed), String(s.skipped),
      `${s.attempts}${s.bootFailures + s.crashes ? ` (${s.bootFailures} boot fail, ${s.crashes} crash)` : ''}`,
      String(s.bootSeconds ?? '-'), String(s.totalSeconds ?? '-')]);
  }
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(w[i])).join('  ').trimEnd()).join('\n');
}

export function details(summaries) {
  const out = [];
  for (const s of summaries) {
    if (s.unpinned) out.push(`${s.kernel}: NOTE the pinned packages are gone from the archive; booted ${s.packages} instead`);
    if (s.outcome !== 'ran') out.push(`${s.kernel}: ${s.outcome}: ${s.why}`);
    for (const r of s.retried ?? []) out.push(`${s.kernel}: retried: ${r}`);
    if (s.consoleTail?.length) out.push(`${s.kernel}: the console's last ${s.consoleTail.length} lines:\n    ${s.consoleTail.join('\n    ')}`);
    for (const f of s.failures) out.push(`${s.kernel}: FAIL ${f.file} > ${f.name}\n    ${(f.error ?? '').split('\n').slice(0, 6).join('\n    ')}`);
    for (const r of s.skipReasons) out.push(`${s.kernel}: skipped ${r.count}: ${r.reason}`);
  }
  return out.join('\n');
}

export function writeReport(dir, summaries, meta) {
  writeFileSync(join(dir, 'report.json'), JSON.stringify({ ...meta, kernels: summaries }, null, 2) + '\n');
  const md = ['| kernel | release | result | passed | failed | skipped | boots |', '|---|---|---|---|---|---|---|'];
  for (const s of summaries) {
    md.push(`| ${s.kernel} | ${s.release} | ${ok(s) ? 'ok' : s.outcome} | ${s.passed} | ${s.failed} | ${s.skipped} | ${s.attempts} |`);
  }
  md.push('', 'Skipped, by reason:', '');
  for (const s of summaries) for (const r of s.skipReasons) md.push(`- ${s.kernel}: ${r.count} × ${r.reason}`);
  writeFileSync(join(dir, 'report.md'), md.join('\n') + '\n');
}
