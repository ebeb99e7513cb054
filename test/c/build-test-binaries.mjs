// Builds the test helper binaries with gcc (no make needed):
//   node test/c/build-test-binaries.mjs   → build/test/uprobe_target, build/test/corebpf_getpid
// The tests import these functions and call them themselves.
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = resolve(here, '../../build/test');

function build(source, out, flags) {
  let fresh = false;
  try {
    fresh = statSync(out).mtimeMs >= statSync(source).mtimeMs;
  } catch { /* not built yet */ }
  if (!fresh) {
    mkdirSync(dirname(out), { recursive: true });
    execFileSync('gcc', [...flags, '-o', out, source], { stdio: 'inherit' });
  }
  return out;
}

/** uprobe_target.c → build/test/uprobe_target; returns its path. */
export function buildUprobeTarget() {
  // -no-pie: symbol values (0x40xxxx) differ from file offsets, so the uprobe tests also
  // check the address → file offset conversion
  return build(resolve(here, 'uprobe_target.c'), resolve(outDir, 'uprobe_target'), ['-O1', '-g0', '-no-pie']);
}

/** getpid_loop.c → build/test/corebpf_getpid (its comm is "corebpf_getpid"); returns its path. */
export function buildGetpidLoop() {
  return build(resolve(here, 'getpid_loop.c'), resolve(outDir, 'corebpf_getpid'), ['-O1', '-g0']);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${buildUprobeTarget()}\n${buildGetpidLoop()}\n`);
}
