// One self-contained HTML page for a check report: no network, inline CSS and JS, the report
// JSON embedded. A heat map of programs (rows) × kernels (columns), cells colored by verdict;
// clicking a cell lists its failed relocations (program, insn, kind, access, local value,
// reason). `#cell=OBJECT/PROGRAM/KERNEL` (URI-encoded parts) in the URL selects a cell.
// When its script has run, the page's title says how many unexpected failures there are and
// <body data-rendered="true">.
import { PAGE_SCRIPT } from './html-script.js';
import type { CheckReport } from './report.js';

const CSS = String.raw`
:root { --pass:#3b9e57; --xfail:#e5b03e; --fail:#d3323b; --xpass:#8b5cd0; --na:#e3e5e9; --skip:#a9aeb8; --ink:#1d2330; --muted:#5d6575; --line:#d9dce2; }
* { box-sizing: border-box; }
body { margin: 0; font: 13px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--ink); background: #f6f7f9; }
header { padding: 14px 20px 10px; background: #fff; border-bottom: 1px solid var(--line); }
h1 { font-size: 18px; margin: 0 0 4px; }
h1 .verdict { font-size: 13px; padding: 2px 8px; border-radius: 10px; margin-left: 8px; vertical-align: 2px; color: #fff; }
.sub { color: var(--muted); }
.chips { margin-top: 8px; display: flex; flex-wrap: wrap; gap: 6px; }
.chip { display: inline-flex; align-items: center; gap: 6px; padding: 2px 9px 2px 6px; border: 1px solid var(--line); border-radius: 12px; background: #fff; }
.sw { width: 12px; height: 12px; border-radius: 2px; display: inline-block; }
.sw.dot { background-image: radial-gradient(circle, #fff 0 2px, transparent 2.5px); }
.controls { margin-top: 8px; display: flex; gap: 16px; align-items: center; color: var(--muted); }
.controls input[type=search] { width: 260px; padding: 3px 6px; border: 1px solid var(--line); border-radius: 4px; }
main { display: flex; gap: 16px; padding: 14px 20px; align-items: flex-start; }
#mapbox { flex: 1 1 auto; min-width: 0; overflow: auto; background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 8px; max-height: calc(100vh - 150px); }
#map { display: block; cursor: pointer; }
aside { flex: 0 0 500px; position: sticky; top: 14px; background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 12px 14px; max-height: calc(100vh - 40px); overflow: auto; }
aside h2 { font-size: 15px; margin: 0 0 4px; word-break: break-all; }
aside .hint { color: var(--muted); }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; color: #fff; font-size: 12px; margin: 4px 0; }
table { border-collapse: collapse; width: 100%; margin-top: 8px; }
th, td { text-align: left; padding: 3px 6px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 12px; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.reason { color: #3c4252; padding-bottom: 8px; }
tr.failure td { border-bottom: none; padding-top: 6px; }
table.failures td:nth-child(4) code { word-break: break-all; }
table.failures td:nth-child(3) code { white-space: nowrap; }
h3.fh { font-size: 13px; margin: 12px 0 0; }
code, pre { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; font-size: 12px; }
pre { white-space: pre-wrap; word-break: break-word; background: #f3f4f6; padding: 8px; border-radius: 4px; }
.kv { color: var(--muted); }
.kv b { color: var(--ink); font-weight: 600; }
#tip { position: fixed; pointer-events: none; background: rgba(29,35,48,.93); color: #fff; padding: 4px 8px; border-radius: 4px; font-size: 12px; display: none; z-index: 5; max-width: 520px; }
section.more { padding: 0 20px 20px; }
section.more h3 { font-size: 14px; margin: 14px 0 4px; }
section.more table { background: #fff; border: 1px solid var(--line); }
.cause { white-space: nowrap; font-weight: 600; }
.xp { color: var(--muted); font-style: italic; }
`;

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** JSON that is safe inside <script>: no "</script>", no "<!--" */
function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** A check report as one self-contained HTML page (the program × kernel matrix). */
export function renderHtml(report: CheckReport): string {
  const s = report.summary;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>corebpf check (${s.unexpectedFail} unexpected failures)</title>
<style>${CSS}</style>
</head>
<body>
<header>
  <h1 id="title">corebpf check</h1>
  <div class="sub" id="sub">${esc(`${s.objects} objects × ${s.kernels} kernels`)}</div>
  <div class="chips" id="chips"></div>
  <div class="controls">
    <label><input type="checkbox" id="only-failing"> only programs that fail somewhere</label>
    <input type="search" id="filter" placeholder="filter objects / programs">
    <span>click a cell for its relocations, a program for all kernels, a kernel name for that kernel</span>
  </div>
</header>
<main>
  <div id="mapbox"><canvas id="map" width="10" height="10"></canvas></div>
  <aside id="details"><h2>Details</h2><p class="hint">Click a cell of the heat map.</p></aside>
</main>
<section class="more">
  <h3>Kernels</h3>
  <table id="kernels"></table>
  <h3>Expected failures (--expect-fail)</h3>
  <table id="expectations"></table>
</section>
<div id="tip"></div>
<noscript><p>This report needs JavaScript to draw its heat map; the data is in the page source (script#report-data).</p></noscript>
<script id="report-data" type="application/json">${scriptJson(report)}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}
