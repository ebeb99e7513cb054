#!/usr/bin/env node
// A small scripted mutation run (issue 15 part 5): each mutant is a textual change to the
// TypeScript source that a correct test suite must notice. For each one, in a scratch
// copy of the tree (never in the checkout), the change is applied, the package is rebuilt
// (tsc + rollup into dist/, as the tests import both src/ and dist/), and the test files
// that should catch it are run. A mutant is KILLED when they fail, SURVIVED when they pass.
// Survivors are listed in docs/testing.md, each killed since or explained.
//
//   node scripts/mutants.mjs            all mutants
//   node scripts/mutants.mjs ID...      only these
//   node scripts/mutants.mjs --list     the list
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** { id, why, file, edits: [find, replace][], tests } */
export const MUTANTS = [
  {
    id: 'report-drops-kinds', why: 'the public API drops every field_signed, enumval_value and type_matches record from the report',
    file: 'src/worker/service.ts',
    edits: [["const report = parsePart<GlueReport>(r, 'report');", "const report = parsePart<GlueReport>(r, 'report');\n  report.relocations = report.relocations.filter((x) => !['field_signed', 'enumval_value', 'type_matches'].includes(x.kind));"]],
    tests: ['test/relocate.test.ts'],
  },
  {
    id: 'consume-copies', why: 'ring buffer consume() hands out copies instead of views of the ring',
    file: 'src/host/ringbuf.ts',
    edits: [['cb(this.#data.subarray(off + HDR, off + HDR + len));', 'cb(Buffer.from(this.#data.subarray(off + HDR, off + HDR + len)));']],
    tests: ['test/ringbuf-views.test.ts'],
  },
  {
    id: 'run-set-ignored', why: '`corebpf run --set` is parsed but never applied',
    file: 'src/cli/run.ts',
    edits: [['obj.setGlobal(s.slice(0, i), parseValue(s.slice(i + 1)));', 'void parseValue;']],
    tests: ['test/cli-run-set.test.ts'],
  },
  {
    id: 'replay-keeps-fds', why: 'a failed replay does not close what it created',
    file: 'src/host/replay.ts',
    edits: [['        f?.close();', '        void f;']],
    tests: ['test/fault-injection.test.ts'],
  },
  {
    id: 'replay-keeps-pins', why: 'a failed replay leaves the pins it made',
    file: 'src/host/replay.ts',
    edits: [['        unlinkSync(p);', '        void p;']],
    tests: ['test/fault-injection.test.ts'],
  },
  {
    id: 'error-without-errno', why: 'syscall errors stop naming the errno',
    file: 'src/host/syscall.ts',
    edits: [['return new SyscallError(`${what} failed: ${name} (${desc})`, details);', 'return new SyscallError(`${what} failed`, details);']],
    tests: ['test/fault-injection.test.ts'],
  },
  {
    id: 'prog-load-no-eagain-retry', why: 'BPF_PROG_LOAD is not retried after EAGAIN (libbpf retries 5 times)',
    file: 'src/host/attr/prog.ts',
    edits: [["e.errnoName !== 'EAGAIN' || attempt >= PROG_LOAD_ATTEMPTS", "e.errnoName !== 'EAGAIN' || attempt >= 1"]],
    tests: ['test/fault-injection.test.ts'],
  },
  {
    id: 'pin-path-unconfined', why: 'a plan pin path is used without checking it stays inside the pin root',
    file: 'src/host/pin-path.ts',
    edits: [["if (!p.startsWith('/') || p === root || !inside(p, root)) {", "if (!p.startsWith('/')) {"]],
    tests: ['test/plan-untrusted.test.ts'],
  },
  {
    id: 'pin-symlink-followed', why: 'the real location of a pin directory is not checked (symlinks lead out)',
    file: 'src/host/pin-path.ts',
    edits: [['if (!inside(d.real, r.real)) {', 'if (false) {']],
    tests: ['test/plan-untrusted.test.ts'],
  },
  {
    id: 'pins-always-reused', why: 'any plan reuses whatever map is pinned at its paths',
    file: 'src/host/replay.ts',
    edits: [['if (pinned && !opts.reusePins) {', 'if (pinned && Number.NaN > 0) {']],
    tests: ['test/plan-untrusted.test.ts'],
  },
  {
    id: 'codec-unbounded', why: 'BTF decoding has no budget (zero-size elements)',
    file: 'src/host/btf-codec/decode.ts',
    edits: [['if (--this.#budget < 0) {', 'if (Number.NaN > 0) {'], ['if (t.nelems > this.#budget) {', 'if (Number.NaN > 0) {']],
    tests: ['test/plan-untrusted.test.ts'],
  },
  {
    id: 'validate-no-btf-sizes', why: 'map key/value sizes are not checked against their BTF types',
    file: 'src/plan-validate.ts',
    edits: [['if (s !== size) bad(', 'if (false) bad(']],
    tests: ['test/plan-untrusted.test.ts'],
  },
  {
    id: 'fromplan-object-unchecked', why: 'fromPlan trusts a plan given as an object',
    file: 'src/host/object.ts',
    edits: [[': checkPlan(plan);', ': plan;']],
    tests: ['test/plan-untrusted.test.ts'],
  },
  {
    id: 'sources-not-recorded', why: 'plans stop recording the sha256 of their object and BTF',
    file: 'src/relocate.ts',
    edits: [['out.plan.sources = { object: sha256(objectBytes), btf: btfHash };', 'void btfHash;']],
    tests: ['test/plan-untrusted.test.ts'],
  },
  {
    id: 'xz-unbounded', why: 'xz decompression is not capped',
    file: 'src/inputs.ts',
    edits: [["{ maxBuffer: limit, stdio: ['ignore', 'pipe', 'pipe'] }", "{ maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'pipe'] }"]],
    tests: ['test/hygiene.test.ts'],
  },
  {
    id: 'worker-inherits-execargv', why: 'the worker inherits --input-type / --eval from the parent',
    file: 'src/worker/exec-argv.ts',
    edits: [['const DROP = /^(', 'const DROP = /^NEVER(?:']],
    tests: ['test/hygiene.test.ts'],
  },
  {
    id: 'summary-unescaped', why: 'the check summary prints names raw',
    file: 'src/check/text.ts',
    edits: [['return out.map(safeLine).join', 'return out.join']],
    tests: ['test/hygiene.test.ts'],
  },
  {
    id: 'map-btf-no-fallback', why: 'a map whose BTF the kernel refuses is not created again without BTF (libbpf does)',
    file: 'src/host/replay.ts',
    edits: [["if (!(e instanceof SyscallError) || isErrno(e, 'EPERM') || m.type === U.BPF_MAP_TYPE_STRUCT_OPS || m.btfVmlinuxValueTypeId) throw e;", 'throw e;']],
    tests: ['test/fault-injection.test.ts', 'test/host-replay.test.ts'],
  },
];

function run(cmd, args, cwd) {
  return spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 1 << 28, env: { ...process.env, FORCE_COLOR: '0' } });
}

function scratch() {
  const dir = mkdtempSync(join(tmpdir(), 'corebpf-mutants-'));
  for (const p of ['package.json', 'tsconfig.json', 'rollup.config.mjs', 'vitest.config.ts', 'src', 'test', 'testdata', 'dist']) {
    cpSync(join(ROOT, p), join(dir, p), { recursive: true });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

function main() {
  const args = process.argv.slice(2);
  if (args.includes('--list')) {
    for (const m of MUTANTS) console.log(`${m.id.padEnd(28)} ${m.why}`);
    return 0;
  }
  const chosen = args.length ? MUTANTS.filter((m) => args.includes(m.id)) : MUTANTS;
  const dir = scratch();
  const results = [];
  try {
    for (const m of chosen) {
      const path = join(dir, m.file);
      const orig = readFileSync(path, 'utf8');
      let text = orig;
      for (const [find, replace] of m.edits) {
        const n = text.split(find).length - 1;
        if (n !== 1) throw new Error(`mutant ${m.id}: '${find}' occurs ${n} times in ${m.file} (want 1): update the mutant`);
        text = text.replace(find, replace);
      }
      writeFileSync(path, text);
      const t0 = Date.now();
      let status;
      try {
        const b = run('npm', ['run', '-s', 'build:ts'], dir);
        if (b.status !== 0) status = 'BUILD-FAILED';
        else {
          const t = run('npx', ['vitest', 'run', ...m.tests], dir);
          status = t.status === 0 ? 'SURVIVED' : 'KILLED';
        }
      } finally {
        writeFileSync(path, orig);
      }
      const secs = ((Date.now() - t0) / 1000).toFixed(0);
      results.push({ id: m.id, status });
      console.log(`${status.padEnd(12)} ${m.id.padEnd(28)} ${secs}s  ${m.why}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const killed = results.filter((r) => r.status === 'KILLED').length;
  console.log(`\n${killed}/${results.length} mutants killed; survivors: ${results.filter((r) => r.status !== 'KILLED').map((r) => r.id).join(', ') || 'none'}`);
  return 0;
}

process.exitCode = main();
