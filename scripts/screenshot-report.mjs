#!/usr/bin/env node
// Render a `corebpf check --html` report with headless Chromium (Debian's `chromium`):
//
//   node scripts/screenshot-report.mjs REPORT.html OUT.png ['#cell=OBJECT/PROGRAM/KERNEL']
//   node scripts/screenshot-report.mjs --dump-dom REPORT.html ['#cell=...']   (DOM after the script ran)
//
// Chromium runs with no network services, a fresh profile, as root with --no-sandbox.
// Also imported by test/check-html.test.ts.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const CANDIDATES = ['chromium', 'chromium-browser', 'google-chrome'];

/** path of a Chromium binary, or null */
export function findChromium() {
  for (const dir of (process.env.PATH ?? '/usr/bin').split(':')) {
    for (const name of CANDIDATES) {
      const p = join(dir, name);
      if (existsSync(p)) return p;
    }
  }
  return null;
}

/** Chromium, installed with apt-get when missing (root only). Returns {path} or {reason}. */
export function ensureChromium() {
  let path = findChromium();
  if (path) return { path };
  if (process.getuid?.() !== 0) return { reason: 'chromium is not installed and installing it needs root (apt-get install chromium)' };
  const r = spawnSync('apt-get', ['install', '-y', '-q', 'chromium'], {
    encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 600_000,
  });
  path = findChromium();
  if (path) return { path };
  return { reason: `chromium could not be installed with apt-get (status ${r.status}): ${(r.stderr || r.stdout || '').trim().split('\n').slice(-3).join(' / ')}` };
}

function run(chromium, args, url) {
  const profile = mkdtempSync(join(tmpdir(), 'corebpf-chromium-'));
  try {
    const r = spawnSync(chromium, [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-default-apps', '--hide-scrollbars', `--user-data-dir=${profile}`,
      ...args, url,
    ], { encoding: 'utf8', maxBuffer: 1 << 28, timeout: 120_000 });
    if (r.error) throw r.error;
    return r;
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

function urlOf(html, hash = '') {
  return pathToFileURL(resolve(html)).href + hash;
}

/** Screenshot `html` to `png` at 1400x900. Returns chromium's stderr. */
export function screenshot(chromium, html, png, hash = '', size = '1400,900') {
  const r = run(chromium, [`--screenshot=${resolve(png)}`, `--window-size=${size}`], urlOf(html, hash));
  if (!existsSync(png)) throw new Error(`chromium wrote no screenshot (status ${r.status}): ${r.stderr.slice(-2000)}`);
  return r.stderr;
}

/** The DOM after the page's scripts ran. */
export function dumpDom(chromium, html, hash = '') {
  const r = run(chromium, ['--dump-dom', '--window-size=1400,900', '--virtual-time-budget=2000'], urlOf(html, hash));
  if (r.status !== 0 || !r.stdout) throw new Error(`chromium --dump-dom failed (status ${r.status}): ${r.stderr.slice(-2000)}`);
  return r.stdout;
}

const isMain = process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname);
if (isMain) {
  const args = process.argv.slice(2);
  const dom = args[0] === '--dump-dom';
  if (dom) args.shift();
  if (args.length < (dom ? 1 : 2)) {
    console.error('usage: screenshot-report.mjs REPORT.html OUT.png [#cell=...] | --dump-dom REPORT.html [#cell=...]');
    process.exit(2);
  }
  const c = ensureChromium();
  if (!c.path) {
    console.error(c.reason);
    process.exit(1);
  }
  if (dom) process.stdout.write(dumpDom(c.path, args[0], args[1] ?? ''));
  else {
    screenshot(c.path, args[0], args[1], args[2] ?? '');
    console.log(`${args[1]} written`);
  }
}
