// The Node options a relocation worker starts with. By default a worker inherits the
// parent's execArgv, and some of those make no sense for (or break) a worker: the parent's
// script given inline (--eval, --print, --input-type: "--input-type can only be used with
// string input") or a debugger port the parent already holds (--inspect*). Everything else
// (loaders, --import, memory and feature flags) is kept.

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
