/**
 * Randomness, injected like time: components take a `() => number` in [0, 1) so simulations and
 * tests repeat exactly for a seed.
 */

/** A uniform source of numbers in [0, 1). */
export type Random = () => number;

/**
 * A seeded generator (mulberry32, a 32-bit state generator with good statistical quality for
 * simulation): the same seed gives the same sequence on every run and machine.
 */
export function seededRandom(seed = 0x6265727468): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
