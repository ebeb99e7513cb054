// Writing a check report's outputs, and the exit status it gives (check and merge).
import { writeFileSync } from 'node:fs';
import { CorebpfError } from '../errors.js';
import { renderHtml } from './html.js';
import { renderJunit } from './junit.js';
import { serializeReport, type CheckReport } from './report.js';

export interface ReportOutputs {
  json?: string;
  junit?: string;
  html?: string;
}

export function writeOutputs(report: CheckReport, out: ReportOutputs): string[] {
  const written: string[] = [];
  const write = (path: string | undefined, what: string, text: () => string) => {
    if (!path) return;
    try {
      writeFileSync(path, text());
    } catch (e) {
      throw new CorebpfError(`cannot write ${what} '${path}': ${(e as Error).message}`, { path }, { cause: e });
    }
    written.push(`${what} written to ${path}`);
  };
  write(out.json, 'JSON report', () => serializeReport(report));
  write(out.junit, 'JUnit XML', () => renderJunit(report));
  write(out.html, 'HTML report', () => renderHtml(report));
  return written;
}

/** exit status of a report: 1 on unexpected failures and verifier disagreements; with strict, also on unexpected passes / unused expectations */
export function reportStatus(report: CheckReport, strict: boolean, sharded = false): number {
  const s = report.summary;
  if (s.unexpectedFail) return 1;
  // check --verify: the kernel's verifier and the offline verdict disagree
  if (s.verifierDisagree) return 1;
  if (strict && (s.unexpectedPass || (!sharded && s.unusedExpectations))) return 1;
  return 0;
}

