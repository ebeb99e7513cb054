// Test helper binaries for a guest architecture (the guest has no compiler), built by
// test/c/build-test-binaries.mjs: amd64 with the host's gcc into build/test, arm64 with
// Debian's aarch64-linux-gnu-gcc into build/lab/arm64/test-bin.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/** Files (relative to the repo) the guest gets besides the package: oracles built natively. */
const NATIVE_EXTRAS = ['build/native/feature-oracle'];
const CC = { amd64: 'gcc', arm64: 'aarch64-linux-gnu-gcc' };

export function buildTestBinaries({ top, arch, out }) {
  const dir = arch === 'amd64' ? join(top, 'build/test') : out;
  execFileSync(process.execPath, [join(top, 'test/c/build-test-binaries.mjs'), '--cc', CC[arch], '--out', dir],
    { stdio: ['ignore', 'ignore', 'inherit'] });
  return { dir, extraFiles: arch === 'amd64' ? NATIVE_EXTRAS : [] };
}
