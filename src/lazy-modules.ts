// Modules only some calls need, loaded on their first use instead of imported. Imported at
// the top, they cost every process that imports corebpf at start-up — comlink (a UMD file,
// which Node's ESM loader runs through its CommonJS export scanner) ~8 ms of CPU, and
// child_process, zlib, worker_threads and v8 ~10 ms: a third of the import — while a load
// that hits the on-disk cache starts no worker and most processes never decompress or spawn
// anything (bench/README.md, "Start-up and memory"). One instance per thread: every user of
// comlink on a thread must take it from here, or its transfer handlers would not be shared.
import { createRequire } from 'node:module';
import type { Endpoint } from 'comlink';
import type { MessagePort, Worker } from 'node:worker_threads';

const load = createRequire(import.meta.url);

function once<T>(id: string): () => T {
  let m: T | undefined;
  return () => (m ??= load(id) as T);
}

export const childProcess = once<typeof import('node:child_process')>('node:child_process');
export const zlib = once<typeof import('node:zlib')>('node:zlib');
export const workerThreads = once<typeof import('node:worker_threads')>('node:worker_threads');
export const v8 = once<typeof import('node:v8')>('node:v8');
export const comlink = once<typeof import('comlink')>('comlink');
/** comlink's adapter from a Node MessagePort or Worker to the web's message endpoint */
export const nodeEndpoint = once<(nep: MessagePort | Worker) => Endpoint>('comlink/dist/umd/node-adapter.js');
