/**
 * Deterministic draws for the simulated account's models (Spot prices, boot delays, Spot
 * interruptions): a uniform number in [0, 1) that depends only on the model seed and what it is
 * for (`hashUnit(seed, 'boot', instanceId, launchMs)`). Unlike a sequential generator, a draw
 * does not depend on the order in which controllers happen to ask, so a simulation repeats
 * exactly for a seed and a restarted server computes the same past prices.
 */

/** FNV-1a over the parts (joined by NUL), then the mulberry32 finaliser, as a uniform [0, 1). */
export function hashUnit(seed: number, ...parts: (string | number)[]): number {
  let h = (0x811c9dc5 ^ (seed >>> 0)) >>> 0;
  const text = parts.join('\u0000');
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  let t = (h + 0x6d2b79f5) >>> 0;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
