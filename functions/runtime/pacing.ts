/**
 * Pacing Slack calls so that Slack never has to refuse one. Slack counts each method's calls in a
 * 60-second window per app and org; a pacer keeps, per method, the times of the calls it let
 * through (and of those it has promised a slot in the next seconds), and hands each new call the
 * earliest time at which the window still has room. One schedule per method, shared by every
 * Lambda container (functions/adapters/dynamodb/pacer.ts keeps it in the ledger table).
 */

/** A per-method budget: at most `limit` calls in any `windowMs`. */
export interface PaceRule {
  limit: number;
  windowMs: number;
}

export interface PaceGrant {
  /** The call may go at `now + waitMs` (0: now). */
  waitMs: number;
  /** A slot was reserved; false when it lies further than the caller would wait (nothing reserved). */
  reserved: boolean;
}

/** Shared per-method schedules. `key` is a method, or a method and a channel (chat.postMessage). */
export interface Pacer {
  /** Reserve the next slot of `key` if it is at most `maxWaitMs` away; otherwise say how far it is. */
  acquire(key: string, rule: PaceRule, maxWaitMs: number): Promise<PaceGrant>;
}

/**
 * The earliest slot at or after `now` such that, counting it, no `windowMs` holds more than
 * `limit` slots. `slots` are the schedule's live slots (any order; expired ones are ignored).
 * Slack's window is sliding, so a new slot must wait until the slot `limit` places back has left
 * the window: with slots s₁ ≤ … ≤ sₙ (n ≥ limit), that is s₍ₙ₋ₗᵢₘᵢₜ₊₁₎ + windowMs.
 */
export function nextSlot(slots: readonly number[], now: number, rule: PaceRule): number {
  const live = slots.filter((at) => at > now - rule.windowMs).sort((a, b) => a - b);
  if (live.length < rule.limit) return now;
  return Math.max(now, live[live.length - rule.limit] + rule.windowMs);
}

/** The schedule after reserving `slot`: expired slots dropped, at most `limit` kept (older ones no longer matter). */
export function withSlot(slots: readonly number[], slot: number, now: number, rule: PaceRule): number[] {
  return [...slots.filter((at) => at > now - rule.windowMs), slot].sort((a, b) => a - b).slice(-rule.limit);
}
