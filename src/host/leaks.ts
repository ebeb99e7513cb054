// Resource hygiene for live objects: a set of owned resources closed exactly once, and a
// warning when a loaded object is garbage-collected without close().
//
// The fds themselves are closed by OwnedFd's own finalizer when their wrappers are
// collected; what this adds is telling the user, once per object, that they leaked one
// (kernel objects such as programs and maps stay alive until then, and attached programs
// keep running).

export interface Closable {
  close(): void;
}

export const LEAK_WARNING_TYPE = 'CorebpfLeakWarning';
export const LEAK_WARNING_CODE = 'COREBPF_UNCLOSED_OBJECT';

interface Held {
  what: string;
}

let warned = 0;
const registry = new FinalizationRegistry<Held>((held) => {
  warned++;
  process.emitWarning(
    `${held.what} was garbage-collected without close(); its maps, programs and links were closed ` +
    'by the garbage collector. Call close() (or use `using` / `await using`) when done with it.',
    { type: LEAK_WARNING_TYPE, code: LEAK_WARNING_CODE });
});

/** Warn (once) if `owner` is garbage-collected before untrackLeak(owner) is called. */
export function trackLeak(owner: object, what: string): void {
  registry.register(owner, { what }, owner);
}

export function untrackLeak(owner: object): void {
  registry.unregister(owner);
}

/** How many leak warnings were emitted in this process (tests). */
export function leakWarningCount(): number {
  return warned;
}

/** Resources owned by one object, closed in reverse order of adoption, once. */
export class ResourceSet implements Disposable {
  #items: Closable[] = [];
  #closed = false;

  get closed(): boolean {
    return this.#closed;
  }

  get size(): number {
    return this.#items.length;
  }

  adopt<T extends Closable>(r: T): T {
    if (this.#closed) {
      r.close();
      throw new Error('cannot adopt a resource into a closed set');
    }
    this.#items.push(r);
    return r;
  }

  /** Close everything (the first error is rethrown after all were tried). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const items = this.#items.reverse();
    this.#items = [];
    let first: unknown = null;
    for (const r of items) {
      try {
        r.close();
      } catch (e) {
        first ??= e;
      }
    }
    if (first) throw first;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
