// Builds the test helper binaries with gcc (no make needed):
//   node test/c/build-test-binaries.mjs [--cc CC --out DIR]
//        → build/test/uprobe_target, build/test/corebpf_getpid, build/test/multi_target,
//          build/test/usdt_target (or DIR/..., built with CC:
//          the lab cross-compiles them for its arm64 guest, which has no compiler)
// The tests import these functions and call them themselves.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = resolve(here, '../../build/test');

function build(source, out, flags, cc = 'gcc') {
  const sources = Array.isArray(source) ? source : [source];
  let fresh = false;
  try {
    fresh = sources.every((s) => statSync(out).mtimeMs >= statSync(s).mtimeMs);
  } catch { /* not built yet */ }
  if (!fresh) {
    mkdirSync(dirname(out), { recursive: true });
    execFileSync(cc, [...flags, '-o', out, ...sources], { stdio: 'inherit' });
  }
  return out;
}

/** uprobe_target.c → build/test/uprobe_target; returns its path. */
export function buildUprobeTarget(cc = 'gcc', dir = outDir) {
  // -no-pie: symbol values (0x40xxxx) differ from file offsets, so the uprobe tests also
  // check the address → file offset conversion
  return build(resolve(here, 'uprobe_target.c'), resolve(dir, 'uprobe_target'), ['-O1', '-g0', '-no-pie'], cc);
}

/** multi_target.c → build/test/multi_target (uprobe.multi tests); returns its path. */
export function buildMultiTarget(cc = 'gcc', dir = outDir) {
  return build(resolve(here, 'multi_target.c'), resolve(dir, 'multi_target'), ['-O1', '-g0'], cc);
}

/**
 * usdt_target.c + usdt_sema.c → build/test/usdt_target (USDT tests; needs sys/sdt.h from
 * systemtap-sdt-dev for the compiler's target); returns its path, or null without sys/sdt.h.
 */
export function buildUsdtTarget(cc = 'gcc', dir = outDir, { pie = true } = {}) {
  const sources = [resolve(here, 'usdt_target.c'), resolve(here, 'usdt_sema.c')];
  // the -no-pie build: an ET_EXEC whose probe addresses are its own (the IP-to-spec-id map
  // of kernels without BPF cookies needs no pid for it)
  const out = resolve(dir, pie ? 'usdt_target' : 'usdt_target_exec');
  try {
    if (sources.every((s) => statSync(out).mtimeMs >= statSync(s).mtimeMs)) return out; // prebuilt (the lab's guests have no compiler)
  } catch { /* not built yet */ }
  const probe = spawnSync(cc, ['-E', '-x', 'c', '-'], { input: '#include <sys/sdt.h>\n', stdio: ['pipe', 'ignore', 'ignore'] });
  const extra = [];
  if (probe.status !== 0) {
    // a cross compiler (the lab's arm64 binaries) does not search the build machine's
    // multiarch include directory; sys/sdt.h is the same file for every architecture (its
    // asm picks operands by __aarch64__ / __x86_64__), so the host's copy serves, alone
    const host = hostSdtDir();
    if (!host || cc === 'gcc') return null;
    const sdt = resolve(dir, 'sdt-include');
    mkdirSync(resolve(sdt, 'sys'), { recursive: true });
    for (const h of ['sdt.h', 'sdt-config.h']) copyFileSync(resolve(host, 'sys', h), resolve(sdt, 'sys', h));
    extra.push('-idirafter', sdt);
  }
  return build(sources, out, ['-O1', '-g0', ...(pie ? [] : ['-no-pie']), ...extra], cc);
}

/** the build machine's include directory holding sys/sdt.h (systemtap-sdt-dev), or null */
function hostSdtDir() {
  const multiarch = spawnSync('gcc', ['-print-multiarch'], { encoding: 'utf8' }).stdout?.trim();
  for (const d of ['/usr/include', ...(multiarch ? [`/usr/include/${multiarch}`] : [])]) {
    if (existsSync(`${d}/sys/sdt.h`) && existsSync(`${d}/sys/sdt-config.h`)) return d;
  }
  return null;
}

/** getpid_loop.c → build/test/corebpf_getpid (its comm is "corebpf_getpid"); returns its path. */
export function buildGetpidLoop(cc = 'gcc', dir = outDir) {
  return build(resolve(here, 'getpid_loop.c'), resolve(dir, 'corebpf_getpid'), ['-O1', '-g0'], cc);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (n, d) => { const i = process.argv.indexOf(n); return i > 0 ? process.argv[i + 1] : d; };
  const cc = arg('--cc', 'gcc'), dir = resolve(arg('--out', outDir));
  process.stdout.write(`${buildUprobeTarget(cc, dir)}\n${buildGetpidLoop(cc, dir)}\n${buildMultiTarget(cc, dir)}\n${buildUsdtTarget(cc, dir) ?? 'usdt_target: no sys/sdt.h for this compiler (systemtap-sdt-dev)'}\n${buildUsdtTarget(cc, dir, { pie: false }) ?? ''}\n`);
}
