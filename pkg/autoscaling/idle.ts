/**
 * Waiting without a timer: a loop with nothing to do (no NodePool, no labelled group, no policy)
 * waits for a change on its informers rather than waking on a clock, so a cluster that does not
 * use it pays nothing (a simulation's clock then jumps straight over it).
 */
import type { KubeObject } from '../api/types.js';
import type { Informer } from '../client/informer.js';

export class Idle {
  private wake: (() => void) | undefined;

  constructor(informers: Informer<KubeObject>[]) {
    const poke = (): void => this.wake?.();
    for (const i of informers) i.on({ add: poke, update: poke, delete: poke });
  }

  /** Resolves on the next change to one of the informers, or when `signal` aborts. */
  until(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.wake = undefined;
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.wake = done;
      signal.addEventListener('abort', done, { once: true });
    });
  }
}
