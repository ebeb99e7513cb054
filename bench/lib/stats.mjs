// Small statistics and formatting helpers for the benchmark (times in milliseconds).

/** the q-quantile (0..1) of samples, nearest-rank on the sorted samples */
export function quantile(samples, q) {
  if (!samples.length) return NaN;
  const s = [...samples].sort((a, b) => a - b);
  const rank = Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1));
  return s[rank];
}

export function summarize(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const n = s.length;
  const median = n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  return {
    n,
    median: round(median),
    p90: round(quantile(s, 0.9)),
    min: round(s[0]),
    max: round(s[n - 1]),
    mean: round(s.reduce((a, b) => a + b, 0) / n),
  };
}

export function round(x, digits = 3) {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function fmtMs(x) {
  if (x === undefined || x === null || Number.isNaN(x)) return '-';
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

/** a plain-text table: rows of strings, first row is the header; numbers right-aligned */
export function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  const numeric = (v) => /^[-\d.,x×()\sM]+$/.test(String(v)) && /\d/.test(String(v));
  return rows
    .map((r, i) => r.map((v, c) => (i > 0 && numeric(v) ? String(v).padStart(widths[c]) : String(v).padEnd(widths[c]))).join('  ').trimEnd())
    .join('\n');
}
