// What a guest architecture needs that the guest cannot build (it has no compiler): the test
// helper binaries (test/c/build-test-binaries.mjs: host gcc into build/test for amd64,
// Debian's aarch64-linux-gnu-gcc into build/lab/arm64/test-bin for arm64) and the static
// feature oracle (libbpf deciding features on the guest's kernel), placed where the tests
// look for them.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const CC = { amd64: 'gcc', arm64: 'aarch64-linux-gnu-gcc' };

/** { dir: helper binaries (-> build/test in the guest), extraFiles: [{ from, to }] } */
export function buildTestBinaries({ top, arch, out }) {
  const dir = arch === 'amd64' ? join(top, 'build/test') : out;
  execFileSync(process.execPath, [join(top, 'test/c/build-test-binaries.mjs'), '--cc', CC[arch], '--out', dir],
    { stdio: ['ignore', 'ignore', 'inherit'] });
  let oracle = join(top, 'build/native/feature-oracle');
  if (arch === 'arm64') {
    execFileSync('make', ['-s', '-C', top, 'feature-oracle-arm64'], { stdio: ['ignore', 'ignore', 'inherit'] });
    oracle = join(top, 'build/arm64/native/feature-oracle');
  }
  return { dir, extraFiles: [{ from: oracle, to: 'build/native/feature-oracle' }] };
}
