/** A deterministic pseudo-random source in [0, 1): the same seed replays the same faults and data. */
export type Random = () => number;

/** mulberry32: tiny, fast and good enough for test data and fault schedules (not for secrets). */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function intBetween(random: Random, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

export function pick<T>(random: Random, items: readonly T[]): T {
  if (items.length === 0) throw new Error('pick: no items');
  return items[Math.floor(random() * items.length)];
}

/** Pick by weight: `[[item, weight], …]`. */
export function weighted<T>(random: Random, items: readonly (readonly [T, number])[]): T {
  const total = items.reduce((sum, [, weight]) => sum + weight, 0);
  let roll = random() * total;
  for (const [item, weight] of items) {
    roll -= weight;
    if (roll < 0) return item;
  }
  return items[items.length - 1][0];
}

/** A stable 32-bit FNV-1a hash, for ids that must not change between runs (DM channels, sessions). */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** A Slack-looking id (`D` + 10 upper-case alphanumerics) derived from `key`, the same every run. */
export function stableSlackId(prefix: string, key: string, length = 10): string {
  let h = hash32(key);
  let out = prefix;
  for (let i = 0; i < length; i++) {
    if (i % 6 === 0 && i > 0) h = hash32(`${key}#${i}`);
    out += ID_ALPHABET[h % ID_ALPHABET.length];
    h = Math.floor(h / ID_ALPHABET.length);
  }
  return out;
}
