// Pinning of a map or program fd in bpffs: where it is pinned, and undoing it.
import { unlinkSync } from 'node:fs';
import * as A from './attr.js';

export class PinState {
  #path: string | null;

  constructor(path: string | null = null) {
    this.#path = path;
  }

  get path(): string | null {
    return this.#path;
  }

  pin(fd: number, path: string): void {
    A.objPin(fd, path);
    this.#path = path;
  }

  /** Remove the pin (the object lives on while fds refer to it); nothing if not pinned. */
  unpin(): void {
    if (this.#path === null) return;
    const p = this.#path;
    this.#path = null;
    try {
      unlinkSync(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
}
