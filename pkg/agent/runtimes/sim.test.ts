/**
 * The simulated runtime's stage driver against a clock that moves while it works, as a scaled
 * clock does on a loaded machine (20 cluster ms pass for every real ms a sync takes).
 */
import t from 'tap';
import type { Pod } from '../../api/types.js';
import { silentLogger } from '../../runtime/logger.js';
import type { Clock } from '../../clock/clock.js';
import type { PodSyncContext } from '../runtime.js';
import { PodCidrAllocator } from '../ipam.js';
import { defaultStages } from '../stages.js';
import { SimRuntime } from './sim.js';

/**
 * A clock that, while `moving`, advances `step` ms on every read (a sync slowed by a loaded
 * machine), and jumps to a wake-up time; its timers are not used (the test syncs the pod at each
 * wake-up, as the agent's timer would).
 */
function movingClock(start: number, step: number): Clock & { moving: boolean; jumpTo(at: number): void } {
  let now = start;
  return {
    moving: true,
    now() {
      return this.moving ? (now += step) : now;
    },
    jumpTo: (at) => void (now = Math.max(now, at)),
    setTimer: () => () => undefined,
    sleep: async () => undefined,
  };
}

t.test('a run-seconds pod exits when its wake-up comes, though the clock moved during the sync that set it', async (t) => {
  // Slow and quick syncs alternate, either way round: the sync that sets the exit's wake-up may be slow and the one it wakes quick.
  for (const [step, slowFirst] of [[0, true], [7, true], [7, false], [40, true], [40, false]] as const) {
    const clock = movingClock(1_700_000_000_000, step);
    const rt = new SimRuntime({ clock, log: silentLogger(), stages: defaultStages(), random: () => 0.5 });
    let pod: Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'job', namespace: 'default', uid: 'u1', resourceVersion: '1', annotations: { 'sim.berth.dev/run-seconds': '10' } },
      spec: { nodeName: 'n1', restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox' }] },
      status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True' }] },
    };
    let wake: number | undefined;
    let rv = 1;
    const ctx: PodSyncContext = {
      key: 'default/job',
      node: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' }, spec: {} },
      hostIP: '10.0.0.1',
      ipam: new PodCidrAllocator('10.244.0.0/24'),
      now: () => clock.now(),
      event: () => undefined,
      writeStatus: async (p) => (pod = { ...p, metadata: { ...p.metadata, resourceVersion: String(++rv) } }),
      deletePod: async () => undefined,
      wakeAt: (at) => void (wake = at),
      cancelWake: () => void (wake = undefined),
    };
    // Each wake-up is a sync; the pod must settle in a handful of them.
    const phase = (): string | undefined => pod.status?.phase;
    for (let syncs = 0; syncs < 20 && phase() !== 'Succeeded'; syncs++) {
      wake = undefined;
      clock.moving = (syncs % 2 === 0) === slowFirst;
      await rt.syncPod(pod, ctx);
      if (phase() === 'Succeeded') break;
      if (wake === undefined) {
        t.fail(`step ${step}, slow first ${slowFirst}: the pod is ${phase()} and nothing will wake it (sync ${syncs})`);
        break;
      }
      clock.jumpTo(wake);
    }
    t.equal(pod.status?.phase, 'Succeeded', `step ${step}, slow first ${slowFirst}: the pod ran its 10 s and succeeded`);
  }
});
