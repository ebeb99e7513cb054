// The report's verifier column (filled by `check --verify` in the lab's VMs, see
// check-verify.test.ts): raw per-result data that merge carries, classify() puts beside the
// offline verdict with `agrees`, and every output shows. Here the raw data is written by
// hand onto a real report (guards.bpf.o on two kernel fixtures), without booting anything.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  formatCheckSummary, mergeReports, offlineVerdict, parseCheckReport, renderCheckHtml, renderCheckJunit, runCheck,
  serializeCheckReport, type CheckReport,
} from '../dist/index.js';
import { BTF_DIR, PROGS } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'corebpf-vcol-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let report: CheckReport;
beforeAll(async () => {
  for (const k of ['amd64-5.10.223', 'amd64-6.12.107']) {
    for (const ext of ['btf.xz', 'config.xz', 'kallsyms.xz']) copyFileSync(join(BTF_DIR, `${k}.${ext}`), join(dir, `${k}.${ext}`));
  }
  copyFileSync(join(BTF_DIR, 'manifest.json'), join(dir, 'manifest.json')); // releases and uname -v
  ({ report } = await runCheck({ objects: [join(PROGS, 'guards.bpf.o')], btfDir: dir, jobs: 1 }));
}, 120_000);

describe('verifier column', () => {
  it('is absent until a verifier ran: no cell has one, the summary counts no disagreement', () => {
    expect(report.results.map((r) => r.outcome)).toEqual(['relocated', 'relocated']);
    expect(report.results.every((r) => r.verifier === undefined && r.programs.every((p) => p.verifier === undefined))).toBe(true);
    expect(report.summary.verifierDisagree).toBeUndefined();
    expect(formatCheckSummary(report)).not.toMatch(/verifier/i);
  });

  it('merge carries raw verifier results; classify says where they agree with the offline verdict; every output shows it', () => {
    const withVerifier = parseCheckReport(serializeCheckReport(report));
    const r510 = withVerifier.results.find((r) => r.kernel === 'amd64-5.10.223')!;
    const r612 = withVerifier.results.find((r) => r.kernel === 'amd64-6.12.107')!;
    // 5.10: the verifier rejects unguarded_state (agrees: failed offline) and, made up here,
    // state_flavor (disagrees: ok, guarded offline); 6.12: all accepted
    r510.verifier = {
      runner: 'test', kernelRelease: '5.10.0-32-amd64',
      programs: r510.programs.map((p) => (p.program === 'unguarded_state' || p.program === 'state_flavor'
        ? { program: p.program, status: 'rejected' as const, insn: 1, message: 'invalid func unknown#195896080', source: 'guards.bpf.c:163' }
        : { program: p.program, status: 'accepted' as const })),
    };
    r612.verifier = { runner: 'test', kernelRelease: '6.12.107+deb13-amd64', programs: r612.programs.map((p) => ({ program: p.program, status: 'accepted' as const })) };
    const merged = mergeReports([withVerifier], ['with-verifier.json']);

    const cell = (k: string, p: string) => merged.results.find((r) => r.kernel === k)!.programs.find((x) => x.program === p)!;
    expect(offlineVerdict(cell('amd64-5.10.223', 'unguarded_state'))).toBe('failed');
    expect(cell('amd64-5.10.223', 'unguarded_state').verifier).toMatchObject({ status: 'rejected', agrees: true, insn: 1 });
    expect(offlineVerdict(cell('amd64-5.10.223', 'state_flavor'))).toBe('ok-guarded');
    expect(cell('amd64-5.10.223', 'state_flavor').verifier).toMatchObject({ status: 'rejected', agrees: false });
    expect(cell('amd64-6.12.107', 'state_flavor').verifier).toEqual({ status: 'accepted', agrees: true });
    expect(merged.summary.verifierDisagree).toBe(1);
    // the raw data survives a merge of the merged report (shards of shards)
    expect(mergeReports([parseCheckReport(serializeCheckReport(merged))], ['m.json']).results).toEqual(merged.results);

    const text = formatCheckSummary(merged);
    expect(text).toMatch(/^VERIFIER DISAGREES \(1 program × kernel\):\n {2}guards\.bpf\.o state_flavor on amd64-5\.10\.223: offline pass \(guarded\), verifier rejects at insn 1: invalid func unknown#195896080 \(guards\.bpf\.c:163\) — DISAGREES with the offline verdict$/m);
    const junit = renderCheckJunit(merged);
    expect(junit).toMatch(/name="guards\.bpf\.o:state_flavor"[^>]*>\n {6}<system-out>ok: 1 guarded relocation[^<]*\nverifier: verifier rejects at insn 1: invalid func unknown#195896080 \(guards\.bpf\.c:163\) — DISAGREES with the offline verdict<\/system-out>/);
    expect(junit).toMatch(/verifier: verifier accepts<\/system-out>/);
    const html = renderCheckHtml(merged);
    expect(html).toContain('"verifier":{"status":"rejected","agrees":false');
    expect(html).toContain("DISAGREES with the offline verdict");
  });
});
