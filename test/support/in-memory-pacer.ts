import { nextSlot, withSlot, type PaceGrant, type Pacer, type PaceRule } from '../../functions/runtime/pacing';

/** LedgerPacer's schedules in memory (one process), over an injectable clock, for tests. */
export class InMemoryPacer implements Pacer {
  readonly schedules = new Map<string, number[]>();

  constructor(private readonly now: () => number) {}

  async acquire(key: string, rule: PaceRule, maxWaitMs: number): Promise<PaceGrant> {
    const now = this.now();
    const slots = this.schedules.get(key) ?? [];
    const slot = nextSlot(slots, now, rule);
    if (slot - now > maxWaitMs) return { waitMs: slot - now, reserved: false };
    this.schedules.set(key, withSlot(slots, slot, now, rule));
    return { waitMs: slot - now, reserved: true };
  }
}
