// JUnit XML of a check report: a <testsuite> per kernel, a <testcase> per object:program.
// Unexpected relocation failures are <failure>s, unexpected libbpf errors <error>s;
// expected failures and not-applicable pairs are <skipped> with the reason.
import { CAUSE_TEXT, errorSummary, programError, type CheckReport } from './report.js';
import { describeFailure, kernelLabel } from './text.js';
import { describeVerifier } from './verdict.js';

// XML 1.0 cannot carry most control characters at all, even escaped
// eslint-disable-next-line no-control-regex
const INVALID_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g;

export function xmlEscape(s: string): string {
  return s.replace(INVALID_XML, '\ufffd').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

function attrs(a: Record<string, string | number>): string {
  return Object.entries(a).map(([k, v]) => ` ${k}="${xmlEscape(String(v))}"`).join('');
}

/** A check report as JUnit XML: a test suite per kernel, a test case per object:program. */
export function renderJunit(report: CheckReport): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const byKernel = new Map<string, typeof report.results>();
  for (const r of report.results) byKernel.set(r.kernel, [...(byKernel.get(r.kernel) ?? []), r]);
  const suites: string[] = [];
  let totalErrors = 0;
  let totalFailures = 0;
  let totalSkipped = 0;
  let totalTests = 0;
  for (const k of report.kernels) {
    const res = byKernel.get(k.id) ?? [];
    const cases: string[] = [];
    let failures = 0;
    let errors = 0;
    let skipped = 0;
    let time = 0;
    for (const r of res) {
      const n = Math.max(1, r.programs.length);
      time += r.ms;
      for (const p of r.programs) {
        const head = `    <testcase${attrs({ classname: `${k.id}.${r.object}`, name: `${r.object}:${p.program}`, time: (r.ms / n / 1000).toFixed(3) })}`;
        const failed = p.failures.map((i) => r.failed[i]!);
        // "ok, guarded" and the verifier's verdict go to <system-out> of the test case
        const notes = [
          ...(p.guarded?.length ? [`ok: ${p.guarded.length} guarded relocation${p.guarded.length === 1 ? '' : 's'} (failed, in dead code):`, ...p.guarded.map((i) => describeFailure(r.failed[i]!))] : []),
          ...(p.verifier ? [`verifier: ${describeVerifier(p.verifier)}`] : []),
        ];
        const out = notes.length ? `\n      <system-out>${xmlEscape(notes.join('\n'))}</system-out>` : '';
        switch (p.status) {
          case 'pass':
            cases.push(out ? `${head}>${out}\n    </testcase>` : `${head}/>`);
            break;
          case 'unexpected-pass':
            cases.push(`${head}>\n      <system-out>${xmlEscape([`relocates, but expected to fail: ${p.note ?? ''}`, ...notes].join('\n'))}</system-out>\n    </testcase>`);
            break;
          case 'not-applicable':
          case 'skipped':
            skipped++;
            cases.push(`${head}>\n      <skipped${attrs({ message: `${p.status === 'skipped' ? '' : 'not applicable: '}${p.note ?? ''}` })}/>${out}\n    </testcase>`);
            break;
          case 'expected-fail': {
            skipped++;
            const pe = programError(r, p.program);
            const body = p.error ? `${pe?.name}: ${pe?.message}` : failed.map(describeFailure).join('\n');
            cases.push(`${head}>\n      <skipped${attrs({ message: `expected failure: ${p.expected ?? ''}` })}>${xmlEscape(body)}</skipped>${out}\n    </testcase>`);
            break;
          }
          case 'unexpected-fail':
            if (p.error) {
              errors++;
              const pe = programError(r, p.program);
              cases.push(`${head}>\n      <error${attrs({ type: pe?.name ?? 'Error', message: errorSummary(pe) })}>${xmlEscape(pe?.message ?? '')}</error>${out}\n    </testcase>`);
            } else {
              failures++;
              const bad = failed.filter((f) => f.expected === null);
              const causes = [...new Set(bad.map((f) => CAUSE_TEXT[f.cause]))].join(', ');
              const msg = `${bad.length} CO-RE relocation${bad.length === 1 ? '' : 's'} failed (${causes}) on ${kernelLabel(k)}`;
              const lines = failed.map((f) => `${f.expected === null ? '' : '(expected) '}${describeFailure(f)}`).join('\n');
              cases.push(`${head}>\n      <failure${attrs({ type: 'CO-RE relocation', message: msg })}>${xmlEscape(lines)}</failure>${out}\n    </testcase>`);
            }
            break;
        }
      }
    }
    const tests = cases.length;
    totalTests += tests;
    totalFailures += failures;
    totalErrors += errors;
    totalSkipped += skipped;
    const props = [['arch', k.arch], ['kernelRelease', k.kernelRelease], ['kernelVersion', k.kernelVersion], ['endianness', k.endianness], ['file', k.file], ['btfSha256', k.btfSha256], ['package', k.package], ['version', k.version]]
      .filter(([, v]) => v).map(([n, v]) => `      <property${attrs({ name: n!, value: v! })}/>`);
    suites.push(`  <testsuite${attrs({ name: k.id, tests, failures, errors, skipped, time: (time / 1000).toFixed(3) })}>\n    <properties>\n${props.join('\n')}\n    </properties>\n${cases.join('\n')}${cases.length ? '\n' : ''}  </testsuite>`);
  }
  out.push(`<testsuites${attrs({ name: 'corebpf check', tests: totalTests, failures: totalFailures, errors: totalErrors, skipped: totalSkipped, time: (report.timing.durationMs / 1000).toFixed(3) })}>`);
  out.push(...suites);
  out.push('</testsuites>');
  return `${out.join('\n')}\n`;
}
