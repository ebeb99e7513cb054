// Progress of `corebpf check` on stderr: a bar redrawn in place on a terminal; in CI (stderr
// not a terminal, or CI set) a plain line at every tenth of the kernels, and nothing else.
import type { CheckProgress } from './run.js';
import type { VerifyProgress } from './verify.js';

/** How `check` shows progress: a redrawn bar (terminal), plain lines (CI), or nothing. */
export type ProgressMode = 'bar' | 'lines' | 'off';

/** The progress mode for a stream: off when quiet, a bar on a terminal outside CI, else lines. */
export function progressMode(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv, quiet: boolean): ProgressMode {
  if (quiet) return 'off';
  const ci = env.CI !== undefined && env.CI !== '' && env.CI !== '0' && env.CI.toLowerCase() !== 'false';
  return stream.isTTY && !ci ? 'bar' : 'lines';
}

function secs(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** Shows the progress of a check run (see {@link checkProgressReporter}). */
export interface ProgressReporter {
  /** report progress (called as kernels complete) */
  update(p: CheckProgress): void;
  /** erase the bar (before printing the summary) */
  end(): void;
}

/** A progress reporter writing to `stream` in the given mode. */
export function progressReporter(stream: NodeJS.WritableStream & { columns?: number }, mode: ProgressMode): ProgressReporter {
  if (mode === 'off') return { update() {}, end() {} };
  if (mode === 'lines') {
    let nextTenth = 1;
    return {
      update(p) {
        if (!p.finishedKernel || !p.kernels) return;
        const tenth = Math.floor((p.kernelsDone * 10) / p.kernels);
        if (tenth < nextTenth && p.kernelsDone !== p.kernels) return;
        nextTenth = tenth + 1;
        stream.write(`corebpf check: ${p.kernelsDone}/${p.kernels} kernels (${Math.floor((p.kernelsDone * 100) / p.kernels)}%), ${p.done}/${p.total} object × kernel, ${p.unexpected} unexpected failures, ${secs(p.elapsedMs)}\n`);
      },
      end() {},
    };
  }
  let last = 0;
  let drawn = false;
  const draw = (p: CheckProgress) => {
    const cols = Math.max(40, stream.columns || 100);
    const frac = p.total ? p.done / p.total : 1;
    const tail = ` ${p.done}/${p.total}  kernels ${p.kernelsDone}/${p.kernels}  ${p.unexpected ? `\x1b[31m${p.unexpected} unexpected\x1b[0m` : '0 unexpected'}  ${secs(p.elapsedMs)}  ${p.current.join(' ')}`;
    const barW = Math.max(10, Math.min(30, cols - 60));
    const full = Math.round(frac * barW);
    let line = `checking [${'#'.repeat(full)}${'-'.repeat(barW - full)}] ${String(Math.floor(frac * 100)).padStart(3)}%${tail}`;
    // keep to one terminal line (escape codes take no columns)
    const visible = line.replace(/\x1b\[[0-9;]*m/g, '');
    if (visible.length > cols - 1) line = line.slice(0, line.length - (visible.length - (cols - 1)));
    stream.write(`\r\x1b[K${line}`);
    drawn = true;
  };
  return {
    update(p) {
      const now = Date.now();
      if (now - last < 80 && p.done !== p.total) return;
      last = now;
      draw(p);
    },
    end() {
      if (drawn) stream.write('\r\x1b[K');
    },
  };
}

/** check --verify: the VMs' progress (booting, programs loaded) on stderr, one line redrawn
 *  on a terminal; otherwise a line per boot, retry and finished kernel. */
export function verifyProgress(stream: NodeJS.WritableStream & { columns?: number }, mode: ProgressMode): { update(p: VerifyProgress): void; end(): void } {
  if (mode === 'off') return { update() {}, end() {} };
  if (mode === 'lines') {
    return {
      update(p) {
        if (p.phase === 'load' || p.phase === 'archive') return;
        const what = p.phase === 'boot' ? `booting, ${p.total} programs to load`
          : p.phase === 'done' ? `${p.total} programs loaded` : `${p.phase}: ${p.why ?? ''}`;
        stream.write(`corebpf check --verify: ${p.kernel}: ${what} (${secs(p.elapsedMs)})\n`);
      },
      end() {},
    };
  }
  const state = new Map<string, string>();
  let drawn = false;
  let last = 0;
  return {
    update(p) {
      state.set(p.kernel, p.phase === 'load' ? `${p.done}/${p.total}` : p.phase === 'done' ? `done ${secs(p.elapsedMs)}` : p.phase);
      const now = Date.now();
      if (now - last < 80 && p.phase === 'load' && p.done !== p.total) return;
      last = now;
      const cols = Math.max(40, stream.columns || 100);
      const line = `verifying  ${[...state].map(([k, s]) => `${k} ${s}`).join('  ')}`;
      stream.write(`\r\x1b[K${line.slice(0, cols - 1)}`);
      drawn = true;
    },
    end() {
      if (drawn) stream.write('\r\x1b[K');
    },
  };
}
