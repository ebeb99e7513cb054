// A vitest reporter for the lab guests: every test with its state, duration, failure and —
// unlike vitest's JSON reporter — the note a skipped test gave (ctx.skip(note)), so the
// per-kernel table can say why a test did not run. Output: $LAB_RESULTS (default
// /tmp/results.json).
import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';

const clip = (s, n) => (s.length > n ? `${s.slice(0, n)}…` : s);
/** an error as text, whatever was thrown (String() itself throws on a null-prototype object) */
const text = (e) => {
  try { return String(e?.stack || e?.message || (typeof e === 'object' ? JSON.stringify(e) : e)); } catch { return Object.prototype.toString.call(e); }
};

export default class LabReporter {
  onInit(ctx) {
    this.root = ctx.config.root;
  }

  onFinished(files = [], errors = []) {
    const tests = [];
    try {
      this.collect(files, errors, tests);
    } catch (e) {
      // the host would see "no results" and nothing else: say what broke instead
      tests.push({ file: '(reporter)', name: 'lab reporter', state: 'failed', ms: 0, error: clip(text(e), 4000) });
    }
    writeFileSync(process.env.LAB_RESULTS || '/tmp/results.json', JSON.stringify({ version: 1, tests }));
  }

  collect(files, errors, tests) {
    const walk = (task, file, path) => {
      if (task.type === 'suite' || task.tasks) {
        for (const t of task.tasks ?? []) walk(t, file, task.type === 'suite' && task.name && task !== file ? [...path, task.name] : path);
        return;
      }
      const r = task.result ?? {};
      const state = r.state === 'pass' ? 'passed' : r.state === 'fail' ? 'failed' : r.state === 'todo' || task.mode === 'todo' ? 'todo' : 'skipped';
      tests.push({
        file: relative(this.root, file.filepath),
        name: [...path, task.name].join(' > '),
        state,
        ms: Math.round(r.duration ?? 0),
        note: r.note ?? (state === 'skipped' ? null : undefined),
        error: state === 'failed' ? clip((r.errors ?? []).map(text).join('\n'), 4000) : undefined,
      });
    };
    for (const f of files) {
      walk(f, f, []);
      // a file that failed to load (syntax error, import failure) has no tests to say so
      for (const e of f.result?.errors ?? []) tests.push({ file: relative(this.root, f.filepath), name: '(file)', state: 'failed', ms: 0, error: clip(text(e), 4000) });
    }
    for (const e of errors) tests.push({ file: '(run)', name: 'unhandled error', state: 'failed', ms: 0, error: clip(text(e), 4000) });
  }
}
