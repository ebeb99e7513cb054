// The Node options a relocation worker starts with. By default a worker inherits the
// parent's execArgv, and some of those make no sense for (or break) a worker: the parent's
// script given inline (--eval, --print, --input-type: "--input-type can only be used with
// string input") or a debugger port the parent already holds (--inspect*). Everything else
// (loaders, --import, memory and feature flags) is kept.
import type { Worker, WorkerOptions } from 'node:worker_threads';
import { workerThreads } from '../lazy-modules.js';

/** options whose value may be the next argument */
const WITH_VALUE = new Set(['-e', '--eval', '-p', '--print', '--input-type']);
const DROP = /^(-e|--eval|-p|--print|--input-type|--inspect(-brk|-port|-wait|-publish-uid)?|--debug(-brk|-port)?|-i|--interactive)(=|$)/;

export function workerExecArgv(parent: readonly string[] = process.execArgv): string[] {
  const out: string[] = [];
  for (let i = 0; i < parent.length; i++) {
    const a = parent[i]!;
    if (!DROP.test(a)) {
      out.push(a);
      continue;
    }
    const name = a.split('=')[0]!;
    if (!a.includes('=') && (WITH_VALUE.has(name) || name === '--inspect-port' || name === '--debug-port') && i + 1 < parent.length) i++;
  }
  return out;
}

/**
 * A Worker started with workerExecArgv(). Given explicitly, execArgv is checked by Node,
 * which refuses per-process options (V8 flags such as --expose-gc, ...) that plain
 * inheritance would have passed over silently: those are dropped and the start retried.
 */
export function startWorker(url: URL, opts: WorkerOptions): Worker {
  let argv = workerExecArgv();
  for (let attempt = 0; ; attempt++) {
    try {
      return new (workerThreads().Worker)(url, { ...opts, execArgv: argv });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code !== 'ERR_WORKER_INVALID_EXEC_ARGV' || attempt >= 2) throw e;
      const bad = new Set((/flags?: (.*)$/.exec(err.message)?.[1] ?? '').split(/,\s*/).map((f) => f.trim()).filter(Boolean));
      const kept = argv.filter((a) => !bad.has(a) && !bad.has(a.split('=')[0]!));
      // nothing recognisable to drop: start without the parent's options at all
      argv = kept.length < argv.length ? kept : [];
    }
  }
}
