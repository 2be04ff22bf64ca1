/**
 * For tests: a control plane with only the AWS component on a VirtualClock that ticks 10 ms of
 * cluster time every real millisecond (so the engines' timers fire while a test awaits real I/O),
 * optionally listening on loopback for real AWS clients.
 */
import { VirtualClock } from '../clock/clock.js';
import { createControlPlane, type ControlPlane } from '../controlplane/controlplane.js';
import { MemoryBackend } from '../storage/memory/memory.js';
import type { AwsHandle } from './index.js';

export interface AwsCluster {
  cp: ControlPlane;
  aws: AwsHandle;
  clock: VirtualClock;
  /** The HTTP address when started with `listen`. */
  url?: string;
  /** Stops the ticking, the listener and the control plane. */
  stop(): Promise<void>;
}

export async function awsCluster(opts: { listen?: boolean } = {}): Promise<AwsCluster> {
  const clock = new VirtualClock();
  const cp = await createControlPlane({ backend: new MemoryBackend(), clock, components: ['aws'] });
  const app = opts.listen ? cp.api.http() : undefined;
  const url = app ? await app.listen({ port: 0, host: '127.0.0.1' }) : undefined;
  await cp.start();
  let running = true;
  const ticker = (async () => {
    while (running) {
      await clock.advance(10);
      await new Promise((r) => setTimeout(r, 1));
    }
  })();
  return {
    cp,
    aws: cp.handles.aws as AwsHandle,
    clock,
    ...(url ? { url } : {}),
    async stop() {
      running = false;
      await ticker;
      await app?.close();
      await cp.stop();
    },
  };
}
