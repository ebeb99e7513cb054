// The lab's initramfs: one base archive per architecture (busybox, node and its libraries,
// the package with its tests, /init) and a small archive per kernel (its config as
// /boot/config-REL, the modules a test needs, what to run), concatenated at boot — the
// kernel unpacks concatenated newc archives in order.
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Modules loaded in every guest when the kernel has them as modules (not built in). */
export const GUEST_MODULES = ['veth', 'dummy', 'sch_ingress', 'cls_bpf', 'act_bpf'];

/** What of the repository the guest gets under /corebpf: build/tsc too, tsc's per-module
 *  output, for the tests whose child processes run one internal module (cli-run's tracefs
 *  permission test: tracefs is root-only in the guests, readable by all on many hosts). */
export const PACKAGE_PARTS = ['package.json', 'tsconfig.json', 'vitest.config.ts', 'dist', 'build/tsc', 'src', 'test', 'testdata', 'examples'];
/** node_modules the guest never needs (compilers and type declarations) */
const NODE_MODULES_SKIP = new Set(['typescript', '@types', '.cache']);

const sh = (cmd, args, opts = {}) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26, ...opts });

/** newc archive of DIR (owner root, sorted, so two builds give the same bytes) */
function cpio(dir, out) {
  const list = sh('find', ['.', '-mindepth', '1'], { cwd: dir }).toString().split('\n').filter(Boolean).sort().join('\n') + '\n';
  const bytes = execFileSync('cpio', ['-o', '-H', 'newc', '-R', '0:0', '--reproducible', '--quiet'], { cwd: dir, input: list, maxBuffer: 1 << 30 });
  writeFileSync(out, bytes);
  return bytes.length;
}

/**
 * The base archive for ARCH at build/lab/ARCH/base.cpio; returns its path.
 * `testBins` is a directory of test helper binaries built for ARCH (build/test layout);
 * `extraFiles` [{ from, to }] are copied to `to` under /corebpf; `parts`: what of the
 * repository goes to /corebpf and `nodeModules` which of node_modules (default: all but
 * compilers and types; check --verify needs only the built package and its dependencies).
 */
export function buildBase({ top, arch, out, testBins, extraFiles = [], parts = PACKAGE_PARTS, nodeModules = null, quiet = false }) {
  const root = join(out, 'root');
  const cpioPath = join(out, 'base.cpio');
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  // busybox, node, libraries; node_modules-overlay holds arch-specific npm pieces
  const userland = join(out, 'userland');
  sh(join(top, 'scripts/lab/userland.sh'), [arch, userland], { stdio: ['ignore', quiet ? 'ignore' : 'inherit', 'inherit'] });
  for (const e of readdirSync(userland)) {
    if (e !== 'node_modules-overlay') cpSync(join(userland, e), join(root, e), { recursive: true, verbatimSymlinks: true });
  }
  for (const d of ['proc', 'sys', 'dev', 'tmp', 'run', 'root', 'etc', 'boot', 'lab', 'mnt']) mkdirSync(join(root, d), { recursive: true });
  copyFileSync(join(top, 'scripts/lab/guest-init.sh'), join(root, 'init'));
  chmodSync(join(root, 'init'), 0o755);
  copyFileSync(join(top, 'scripts/lab/reporter.mjs'), join(root, 'lab/reporter.mjs'));
  copyFileSync(join(top, 'scripts/lab/verify-guest.mjs'), join(root, 'lab/verify-guest.mjs'));

  const pkg = join(root, 'corebpf');
  mkdirSync(pkg);
  for (const p of parts) cpSync(join(top, p), join(pkg, p), { recursive: true });
  const nm = join(top, 'node_modules');
  for (const e of readdirSync(nm)) {
    if (!NODE_MODULES_SKIP.has(e) && (!nodeModules || nodeModules.includes(e))) cpSync(join(nm, e), join(pkg, 'node_modules', e), { recursive: true, verbatimSymlinks: true });
  }
  const overlay = join(userland, 'node_modules-overlay');
  if (existsSync(overlay)) cpSync(overlay, join(pkg, 'node_modules'), { recursive: true, verbatimSymlinks: true });
  // prebuilt helper binaries (no compiler in the guest); newer than their sources
  if (testBins && existsSync(testBins)) cpSync(testBins, join(pkg, 'build/test'), { recursive: true, preserveTimestamps: false });
  for (const { from, to } of extraFiles) {
    if (!existsSync(from)) throw new Error(`lab: ${from} is not built (make native)`);
    mkdirSync(dirname(join(pkg, to)), { recursive: true });
    cpSync(from, join(pkg, to));
  }
  // written whole, then renamed into place: a process that finds base.cpio (check --verify's
  // shards on one machine) never copies half of one (its guest then lacked /lab/env)
  const tmp = `${cpioPath}.${process.pid}.tmp`;
  const size = cpio(root, tmp);
  renameSync(tmp, cpioPath);
  rmSync(root, { recursive: true, force: true });
  return { path: cpioPath, size };
}

/** modules.dep closure of the wanted modules that exist as modules in this kernel, deps first */
function moduleOrder(modDir, wanted) {
  const depFile = join(modDir, 'modules.dep');
  if (!existsSync(depFile)) return [];
  const deps = new Map();
  for (const line of readFileSync(depFile, 'utf8').split('\n')) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    const path = line.slice(0, i);
    deps.set(modName(path), { path, deps: line.slice(i + 1).trim().split(/\s+/).filter(Boolean).map(modName) });
  }
  const order = [];
  const visit = (m) => {
    const e = deps.get(m);
    if (!e || order.some((o) => o.name === m)) return;
    e.deps.forEach(visit);
    order.push({ name: m, path: e.path });
  };
  for (const m of wanted) visit(m.replace(/-/g, '_'));
  return order;
}
function modName(path) {
  return basename(path).replace(/\.ko(\.(xz|zst|gz))?$/, '').replace(/-/g, '_');
}

/** The per-kernel archive: /boot/config-REL, /lab/modules, /lab/env, and `files`
 *  [{ path, data }] (absolute guest paths; check --verify's plans). */
export function buildKernelArchive({ kernelDir, release, out, env, files = [] }) {
  const root = join(out, 'root');
  rmSync(root, { recursive: true, force: true });
  mkdirSync(join(root, 'boot'), { recursive: true });
  mkdirSync(join(root, 'lab/modules'), { recursive: true });
  copyFileSync(join(kernelDir, 'config'), join(root, 'boot', `config-${release}`));
  const mods = moduleOrder(join(kernelDir, 'modules'), GUEST_MODULES);
  for (const m of mods) {
    const src = join(kernelDir, 'modules', m.path);
    const dst = join(root, 'lab/modules', `${m.name}.ko`);
    if (src.endsWith('.xz')) writeFileSync(dst, sh('xz', ['-dc', src]));
    else if (src.endsWith('.zst')) writeFileSync(dst, sh('zstd', ['-dcq', src]));
    else if (src.endsWith('.gz')) writeFileSync(dst, sh('gzip', ['-dc', src]));
    else copyFileSync(src, dst);
  }
  writeFileSync(join(root, 'lab/modules.order'), mods.map((m) => m.name).join('\n') + (mods.length ? '\n' : ''));
  for (const f of files) {
    mkdirSync(dirname(join(root, f.path)), { recursive: true });
    writeFileSync(join(root, f.path), f.data);
  }
  writeFileSync(join(root, 'lab/env'), Object.entries(env).map(([k, v]) => `${k}='${String(v).replace(/'/g, "'\\''")}'\n`).join(''));
  const path = join(out, 'kernel.cpio');
  cpio(root, path);
  rmSync(root, { recursive: true, force: true });
  return { path, modules: mods.map((m) => m.name) };
}
