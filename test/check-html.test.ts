// The HTML report of corebpf check: one self-contained file that headless Chromium renders
// into a heat map (checked on the screenshot's pixels) and whose script selects a cell and
// lists its failed relocations (checked in the DOM after the script ran).
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderCheckHtml, runCheck, type CheckReport } from '../dist/index.js';
// @ts-expect-error: a plain .mjs script without types
import { dumpDom, ensureChromium, screenshot } from '../scripts/screenshot-report.mjs';
import { BTF_DIR, PROGS } from './helpers.js';

const chromium = ensureChromium() as { path?: string; reason?: string };
if (!chromium.path) console.log(`check-html: skipping the Chromium tests: ${chromium.reason}`);

interface Png { width: number; height: number; pixel(x: number, y: number): [number, number, number] }

/** A small PNG reader: 8-bit RGB / RGBA, non-interlaced (what Chromium writes). */
function readPng(buf: Buffer): Png {
  expect(buf.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
  let off = 8;
  let width = 0;
  let height = 0;
  let type = 0;
  const idat: Buffer[] = [];
  while (off < buf.length) {
    const len = buf.readUInt32BE(off);
    const kind = buf.toString('latin1', off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    if (kind === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      expect(data[8]).toBe(8); // bit depth
      type = data[9]!;
      expect([2, 6]).toContain(type);
      expect(data[12]).toBe(0); // not interlaced
    } else if (kind === 'IDAT') idat.push(data);
    else if (kind === 'IEND') break;
    off += 12 + len;
  }
  const bpp = type === 6 ? 4 : 3;
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  const out = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? out[y * stride + i - bpp]! : 0;
      const b = y > 0 ? out[(y - 1) * stride + i]! : 0;
      const c = i >= bpp && y > 0 ? out[(y - 1) * stride + i - bpp]! : 0;
      let v = line[i]!;
      if (f === 1) v += a;
      else if (f === 2) v += b;
      else if (f === 3) v += (a + b) >> 1;
      else if (f === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      out[y * stride + i] = v & 0xff;
    }
  }
  return { width, height, pixel: (x, y) => [out[y * stride + x * bpp]!, out[y * stride + x * bpp + 1]!, out[y * stride + x * bpp + 2]!] };
}

function countColor(png: Png, rgb: [number, number, number], tol = 6): number {
  let n = 0;
  for (let y = 0; y < png.height; y += 2) {
    for (let x = 0; x < png.width; x += 2) {
      const p = png.pixel(x, y);
      if (Math.abs(p[0] - rgb[0]) <= tol && Math.abs(p[1] - rgb[1]) <= tol && Math.abs(p[2] - rgb[2]) <= tol) n++;
    }
  }
  return n;
}

const PASS: [number, number, number] = [0x3b, 0x9e, 0x57];
const XFAIL: [number, number, number] = [0xe5, 0xb0, 0x3e];
const FAIL: [number, number, number] = [0xd3, 0x32, 0x3b];

const tmp = mkdtempSync(join(tmpdir(), 'corebpf-check-html-'));
const HTML = join(tmp, 'report.html');
let report: CheckReport;

// COREBPF_KEEP_TEST_OUTPUT=1 keeps the reports (and the screenshot) to look at
afterAll(() => {
  if (process.env.COREBPF_KEEP_TEST_OUTPUT) console.log(`check: test output kept in ${tmp}`);
  else rmSync(tmp, { recursive: true, force: true });
});

beforeAll(async () => {
  // a few expectations only (test/check.test.ts has the corpus's): guards' unguarded_state
  // and others are unexpected failures here
  const expectations = [
    { object: 'core_target', access: ['core_*', 'core_*::*'], reason: 'synthetic types of testdata/targets/core_target.target.btf' },
    { object: 'core_ambiguous', program: 'amb_ok', reason: 'struct core_amb exists only in testdata/targets/core_ambiguous.target.btf' },
  ];
  ({ report } = await runCheck({ objects: [PROGS], btfDir: BTF_DIR, expectations, expectationsFile: 'inline', jobs: 2 }));
  writeFileSync(HTML, renderCheckHtml(report));
}, 300_000);

describe('HTML report', () => {
  it('is one self-contained file: inline style and script, the report embedded, nothing fetched', () => {
    const html = readFileSync(HTML, 'utf8');
    expect(report.summary.unexpectedFail).toBeGreaterThan(0);
    expect(html).not.toMatch(/<link\b|<script[^>]+src=|<img[^>]+src="?http|url\(\s*['"]?http|@import/i);
    expect(html).toMatch(/<meta http-equiv="Content-Security-Policy" content="default-src 'none'/);
    const data = /<script id="report-data" type="application\/json">([^]*?)<\/script>/.exec(html)![1]!;
    expect(data).not.toMatch(/<\//);
    expect(JSON.parse(data).summary).toEqual(report.summary);
  });

  it.skipIf(!chromium.path)('runs its script in Chromium: title, selected cell and its failed relocations in the DOM', () => {
    const dom: string = dumpDom(chromium.path, HTML, `#cell=${['guards.bpf.o', 'unguarded_state', 'amd64-5.10.223'].map(encodeURIComponent).join('/')}`);
    expect(dom).toMatch(/data-rendered="true"/);
    expect(dom).toContain(`<title>corebpf check: ${report.summary.unexpectedFail} unexpected failures (${report.kernels.length} kernels)</title>`);
    expect(dom).toMatch(/data-selected="guards\.bpf\.o\/unguarded_state\/amd64-5\.10\.223"/);
    const details = /<aside id="details">([^]*?)<\/aside>/.exec(dom)![1]!;
    expect(details).toContain('UNEXPECTED failure');
    expect(details).toContain('<code>task_struct___new.__state</code>');
    expect(details).toContain('<code>field_byte_offset</code>');
    expect(details).toMatch(/field missing<\/span>: 1 candidate type in target BTF, but none has field task_struct___new\.__state/);
    expect(details).toContain('reached by insn 0 \u2192 1 of unguarded_state');
    const f = report.results.find((r) => r.object === 'guards.bpf.o' && r.kernel === 'amd64-5.10.223')!.failed.find((x) => x.program === 'unguarded_state')!;
    expect(details).toContain(`<td class="num">${f.insn}</td>`);
    expect(details).toContain(`<td class="num">${f.local}</td>`);
    // the kernel table lists every kernel
    for (const k of report.kernels) expect(dom).toContain(`<td>${k.id}</td>`);
    // a guarded fallback: ok, with the guarded relocation listed
    const ok: string = dumpDom(chromium.path, HTML, `#cell=${['core_flavors.bpf.o', 'capabilities', 'amd64-5.10.223'].map(encodeURIComponent).join('/')}`);
    const okDetails = /<aside id="details">([^]*?)<\/aside>/.exec(ok)![1]!;
    expect(okDetails).toContain('relocates, guarded fallbacks');
    expect(okDetails).toContain('Guarded relocations (1): failed, in dead code');
    expect(okDetails).toContain('<code>cred.cap_effective.val</code>');
    expect(okDetails).not.toContain('UNEXPECTED failure');
  });

  it.skipIf(!chromium.path)('renders to a PNG whose heat map has pass, expected-fail and unexpected-fail cells', () => {
    const png = join(tmp, 'report.png');
    screenshot(chromium.path, HTML, png, `#cell=${['core_flavors.bpf.o', 'capabilities', 'amd64-5.10.223'].map(encodeURIComponent).join('/')}`);
    expect(statSync(png).size).toBeGreaterThan(30_000);
    const img = readPng(readFileSync(png));
    expect([img.width, img.height]).toEqual([1400, 900]);
    // cells are 14+ px squares: thousands of sampled pixels of each verdict's color
    expect(countColor(img, PASS)).toBeGreaterThan(2000);
    expect(countColor(img, XFAIL)).toBeGreaterThan(300);
    expect(countColor(img, FAIL)).toBeGreaterThan(100);
    // the page background is the light grey of the stylesheet, not a blank white or black page
    expect(img.pixel(5, 880)).toEqual([0xf6, 0xf7, 0xf9]);
  }, 120_000);
});
