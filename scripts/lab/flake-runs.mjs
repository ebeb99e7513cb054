#!/usr/bin/env node
// make lab-flake: the flake rate of the whole lab, measured by running it again and again.
// Each run is the lab exactly as CI runs it (scripts/lab/lab.mjs, every kernel unless
// --kernels says otherwise); after each, one line goes to the log with the run's verdict and,
// per kernel, the boots and crashes its retries absorbed. The summary counts a run as a
// flake when it would have failed CI: any failed test, any kernel whose tests never ran.
//
//   node scripts/lab/flake-runs.mjs [--runs N] [--log FILE] [lab.mjs options ...]
//   node scripts/lab/flake-runs.mjs --summary [--log FILE ...]   only summarize logs
//   make lab-flake RUNS=20
import { spawnSync, execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const top = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const take = (name, dflt) => {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const summaryOnly = args.includes('--summary');
if (summaryOnly) args.splice(args.indexOf('--summary'), 1);
const logs = [];
for (let l = take('--log'); l; l = take('--log')) logs.push(resolve(l));
if (!logs.length) logs.push(join(top, 'build/lab/flake-runs.jsonl'));
const runs = Number(take('--runs', process.env.RUNS || 20));

function commit() {
  try {
    return execFileSync('git', ['-C', top, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}

/** One run's line: what CI would have concluded, and what the retries hid. */
function record(exit, seconds, since) {
  const report = JSON.parse(readFileSync(join(top, 'build/lab/report.json'), 'utf8'));
  // a lab that died before writing its report leaves the previous run's
  if (Date.parse(report.date) < since) throw new Error(`build/lab/report.json is from ${report.date}, before this run`);
  return {
    date: new Date().toISOString(), commit: commit(), exit, seconds, accel: report.accel,
    kernels: report.kernels.map((k) => ({
      kernel: k.kernel, outcome: k.outcome, attempts: k.attempts, bootFailures: k.bootFailures, crashes: k.crashes,
      passed: k.passed, failed: k.failed, skipped: k.skipped,
      failures: k.failures.map((f) => `${f.file}: ${f.name}`),
      retried: k.retried ?? [],
    })),
  };
}

function summarize(lines) {
  const failed = lines.filter((r) => r.exit !== 0);
  const perKernel = new Map();
  for (const r of lines) {
    for (const k of r.kernels) {
      const s = perKernel.get(k.kernel) ?? { runs: 0, attempts: 0, bootFailures: 0, crashes: 0, failedRuns: 0 };
      s.runs++;
      s.attempts += k.attempts;
      s.bootFailures += k.bootFailures;
      s.crashes += k.crashes;
      if (k.failed || k.outcome !== 'ran') s.failedRuns++;
      perKernel.set(k.kernel, s);
    }
  }
  const secs = lines.map((r) => r.seconds).sort((a, b) => a - b);
  const out = [
    `${lines.length} whole lab runs, ${failed.length} would have failed CI (${lines.length ? ((100 * failed.length) / lines.length).toFixed(1) : '-'}%); ` +
      `run time median ${secs[secs.length >> 1] ?? '-'} s, max ${secs.at(-1) ?? '-'} s`,
    '| kernel | runs | boots | failed boots (retried) | guest crashes (retried) | runs with a failure |',
    '|---|---|---|---|---|---|',
  ];
  for (const [name, s] of perKernel) out.push(`| ${name} | ${s.runs} | ${s.attempts} | ${s.bootFailures} | ${s.crashes} | ${s.failedRuns} |`);
  for (const r of failed) {
    const bad = r.kernels.filter((k) => k.failed || k.outcome !== 'ran');
    out.push(`- ${r.date} (${r.commit}): ${bad.map((k) => `${k.kernel} ${k.outcome}, ${k.failed} failed${k.failures.length ? ` (${k.failures.join('; ')})` : ''}`).join('; ') || `exit ${r.exit}`}`);
  }
  // what the retries absorbed: each would have failed CI without them
  for (const r of lines) for (const k of r.kernels) for (const why of k.retried ?? []) out.push(`- retried, ${r.date} (${r.commit}) ${k.kernel}: ${why}`);
  return out.join('\n');
}

function readLogs() {
  return logs.filter(existsSync).flatMap((f) => readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)));
}

if (!summaryOnly) {
  mkdirSync(dirname(logs[0]), { recursive: true });
  for (let i = 1; i <= runs; i++) {
    const t0 = Date.now();
    const r = spawnSync(process.execPath, [join(top, 'scripts/lab/lab.mjs'), ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
    const seconds = Math.round((Date.now() - t0) / 1000);
    const exit = r.status ?? 128;
    let line;
    try {
      line = record(exit, seconds, t0);
    } catch (e) {
      line = { date: new Date().toISOString(), commit: commit(), exit, seconds, kernels: [], error: `no report: ${e.message}` };
    }
    appendFileSync(logs[0], JSON.stringify(line) + '\n');
    console.log(`flake-runs: run ${i}/${runs}: exit ${exit} in ${seconds} s`);
  }
}
console.log(summarize(readLogs()));
