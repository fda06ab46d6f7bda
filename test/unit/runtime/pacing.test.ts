import { nextSlot, withSlot } from '../../../functions/runtime/pacing';

const rule = { limit: 3, windowMs: 60_000 };

/** The most calls any window of `windowMs` holds, as Slack's sliding window counts them. */
function busiestWindow(slots: number[], windowMs: number): number {
  const sorted = [...slots].sort((a, b) => a - b);
  return Math.max(0, ...sorted.map((start, i) => sorted.slice(i).filter((at) => at < start + windowMs).length));
}

describe('nextSlot (one sliding window per method)', () => {
  it('lets calls go at once while the window has room', () => {
    expect(nextSlot([], 1000, rule)).toBe(1000);
    expect(nextSlot([900, 950], 1000, rule)).toBe(1000);
  });

  it('once full, gives the moment the call `limit` places back leaves the window', () => {
    expect(nextSlot([1000, 2000, 3000], 4000, rule)).toBe(61_000);
    // Slots already promised in the future count too.
    expect(nextSlot([1000, 2000, 3000, 61_000], 4000, rule)).toBe(62_000);
  });

  it('forgets slots that have left the window', () => {
    expect(nextSlot([1000, 2000, 3000], 62_000, rule)).toBe(62_000);
  });

  it('never lets any window hold more than the limit, however many callers ask at once', () => {
    let slots: number[] = [];
    const granted: number[] = [];
    for (let i = 0; i < 50; i++) {
      const now = i * 500; // 50 calls asked for in 25 s
      const slot = nextSlot(slots, now, rule);
      expect(slot).toBeGreaterThanOrEqual(now);
      slots = withSlot(slots, slot, now, rule);
      granted.push(slot);
    }
    expect(busiestWindow(granted, rule.windowMs)).toBe(rule.limit);
    // …and wastes none: the 50th (index 49) goes one window after the 47th (16 windows after the 2nd, asked at 500 ms).
    expect(Math.max(...granted)).toBe(16 * 60_000 + 500);
  });

  it('keeps at most `limit` slots', () => {
    expect(withSlot([1, 2, 3, 4], 5, 4, { limit: 3, windowMs: 60_000 })).toEqual([3, 4, 5]);
  });
});
