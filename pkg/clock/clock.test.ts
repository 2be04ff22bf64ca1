import t from 'tap';
import { RealClock, ScaledClock, VirtualClock } from './clock.js';

t.test('timers longer than setTimeout allows (24.8 days) wait instead of firing at once', async (t) => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.name);
  process.on('warning', onWarning);
  let fired = 0;
  const cancels = [new RealClock().setTimer(40 * 86_400_000, () => fired++), new ScaledClock(10).setTimer(400 * 86_400_000, () => fired++)];
  await new Promise((r) => setTimeout(r, 100));
  process.off('warning', onWarning);
  for (const c of cancels) c();
  t.equal(fired, 0, 'a 40-day timer has not fired after 100 ms');
  t.same(warnings.filter((w) => w === 'TimeoutOverflowWarning'), [], 'no TimeoutOverflowWarning');
});

t.test('short timers still fire, scaled by the clock', async (t) => {
  const fired: string[] = [];
  new RealClock().setTimer(5, () => fired.push('real'));
  new ScaledClock(100).setTimer(500, () => fired.push('scaled'));
  await new Promise((r) => setTimeout(r, 60));
  t.same(fired.sort(), ['real', 'scaled']);
  const v = new VirtualClock(0);
  let n = 0;
  v.setTimer(40 * 86_400_000, () => n++);
  await v.advance(40 * 86_400_000);
  t.equal(n, 1, 'a virtual clock reaches any time');
});
