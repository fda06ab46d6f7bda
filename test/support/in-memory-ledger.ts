import { LeaseHeldError } from '../../functions/domain/errors';
import type { ResetBy } from '../../functions/domain/audit-entry';
import type { ClaimResult, DecisionRecord } from '../../functions/adapters/dynamodb/decision-log';
import type { Checkpoint } from '../../functions/adapters/dynamodb/poll-state';
import type { BudgetAnswer, ResetClaim } from '../../functions/adapters/dynamodb/reset-guard';
import { expiresAfter, LEDGER_KEYS, type LedgerKey } from '../../functions/adapters/dynamodb/keys';
import { BUDGET_WINDOW_MS } from '../../functions/adapters/dynamodb/reset-guard';

/** A ledger item as the DynamoDB adapters would store it (keys, attributes, `expiresAt` TTL in epoch seconds). */
export type StoredItem = Record<string, unknown> & { pk: string; sk: string; expiresAt?: number };

/**
 * The ledger's semantics (PollState, DecisionLog, ResetGuard: claims, leases, budgets) in memory,
 * for use-case tests. Held to the DynamoDB adapters by test/support/ledger-contract.ts (run by
 * test/integration/ledger-contract.test.ts against both); `stored(key)` shows the item the real
 * adapters would have written, TTL included, so the same assertions run on both.
 */
export class InMemoryLedger {
  checkpoint: Checkpoint = {};
  /** When the checkpoint was last saved (PollState stores `updatedAt`; kept apart so `checkpoint` is exactly what was saved). */
  private checkpointUpdatedAt?: number;
  /** Seen entries → their TTL (epoch seconds). */
  readonly seen = new Map<string, number>();
  readonly decisions = new Map<string, DecisionRecord>();
  /** Users → when their sessions were last ended (epoch ms). */
  readonly resets = new Map<string, number>();
  /** Reset reservations (loop protection): user → the entry holding it, when, whether it went through, and the TTL. */
  readonly resetSlots = new Map<string, { entryId: string; at: number; done: boolean; expiresAt: number; budgetAt?: number; by?: ResetBy }>();
  /** The circuit breaker's window item: the times of the units taken (epoch ms), its version and TTL. */
  budget?: { units: number[]; version: number; expiresAt: number };
  checkpointWrites: Checkpoint[] = [];

  constructor(
    private readonly now: () => number = Date.now,
    /** DecisionLog's retentionDays (its default). */
    private readonly retentionDays = 400,
  ) {}

  /** Resets taken from the budget within the last hour (the sliding window). */
  get resetBudgetUsed(): number {
    return this.unitsInWindow().length;
  }

  private unitsInWindow(): number[] {
    return (this.budget?.units ?? []).filter((at) => at > this.now() - BUDGET_WINDOW_MS).sort((a, b) => a - b);
  }

  /** Writes the window as ResetGuard does: only the units still in it, version + 1, TTL 2 h. */
  private writeWindow(units: number[]): void {
    this.budget = { units, version: (this.budget?.version ?? 0) + 1, expiresAt: expiresAfter(this.now(), 2 * 3600) };
  }

  async getCheckpoint(): Promise<Checkpoint> {
    return { ...structuredClone(this.checkpoint), updatedAt: this.checkpointUpdatedAt };
  }
  async saveCheckpoint(state: Checkpoint): Promise<void> {
    this.checkpoint = structuredClone(state);
    this.checkpointUpdatedAt = this.now();
    this.checkpointWrites.push(structuredClone(state));
  }
  /** The poller lease: who holds it, until when, and its TTL. */
  lease?: { holder: string; leaseUntil: number; expiresAt: number };
  async acquireLease(holder: string, untilMs: number): Promise<boolean> {
    if (this.lease && this.lease.leaseUntil >= this.now() && this.lease.holder !== holder) return false;
    this.lease = { holder, leaseUntil: untilMs, expiresAt: expiresAfter(untilMs, 3600) };
    return true;
  }
  async releaseLease(holder: string): Promise<void> {
    if (this.lease?.holder === holder) this.lease.leaseUntil = 0;
  }
  async filterUnseen(ids: string[]): Promise<string[]> {
    return [...new Set(ids)].filter((id) => !this.seen.has(id));
  }
  async markSeen(ids: string[], retainSeconds: number): Promise<void> {
    const expiresAt = expiresAfter(this.now(), retainSeconds);
    ids.forEach((id) => this.seen.set(id, expiresAt));
  }

  async claimEntry(entryId: string, leaseMs: number): Promise<ClaimResult> {
    const existing = this.decisions.get(entryId);
    if (existing?.status === 'done') return { claimed: false, existing: structuredClone(existing) };
    // DynamoDB's condition: taken over only when `leaseUntil < now`.
    if (existing && (existing.leaseUntil ?? 0) >= this.now()) throw new LeaseHeldError(`entry#${entryId}`);
    // An UpdateItem: whatever else the abandoned record held stays.
    this.decisions.set(entryId, { ...existing, entryId, status: 'in_progress', leaseUntil: this.now() + leaseMs });
    return { claimed: true };
  }
  async getDecision(entryId: string): Promise<DecisionRecord | undefined> {
    const record = this.decisions.get(entryId);
    return record && structuredClone(record);
  }
  async releaseEntry(entryId: string): Promise<void> {
    if (this.decisions.get(entryId)?.status === 'in_progress') this.decisions.delete(entryId);
  }
  async completeDecision(record: Omit<DecisionRecord, 'status' | 'decidedAt' | 'day' | 'expiresAt' | 'leaseUntil'>): Promise<DecisionRecord> {
    const decidedAt = new Date(this.now()).toISOString();
    // A PutItem: the whole record is replaced (the lease goes), with the day index and the TTL.
    const done: DecisionRecord = {
      ...structuredClone(record),
      status: 'done',
      decidedAt,
      day: decidedAt.slice(0, 10),
      expiresAt: expiresAfter(this.now(), this.retentionDays * 86400),
    };
    this.decisions.set(record.entryId, done);
    return structuredClone(done);
  }
  async recordIfNew(record: Omit<DecisionRecord, 'status' | 'decidedAt' | 'day' | 'expiresAt' | 'leaseUntil'>): Promise<ClaimResult> {
    const existing = this.decisions.get(record.entryId);
    if (existing) {
      if (existing.status === 'in_progress') throw new LeaseHeldError(`entry#${record.entryId}`);
      return { claimed: false, existing: structuredClone(existing) };
    }
    await this.completeDecision(record);
    return { claimed: true };
  }
  async markNotificationQueued(entryId: string): Promise<void> {
    const record = this.decisions.get(entryId);
    if (record) record.notificationQueued = true;
  }
  async claimReset(userId: string, entryId: string, cooldownMinutes: number): Promise<ResetClaim> {
    const held = this.resetSlots.get(userId);
    if (!held || held.at <= this.now() - cooldownMinutes * 60_000) {
      this.resetSlots.set(userId, { entryId, at: this.now(), done: false, expiresAt: expiresAfter(this.now(), Math.max(60, cooldownMinutes * 60)) });
      return { claimed: true, alreadyReset: false };
    }
    if (held.entryId === entryId) return { claimed: true, alreadyReset: held.done, ...(held.budgetAt !== undefined ? { budgetTaken: true } : {}) };
    return { claimed: false, lastResetAt: held.at, entryId: held.entryId, ...(held.by ? { lastResetBy: held.by } : {}), checkedAt: this.now() };
  }
  async recordExternalReset(userId: string, at: number, by: ResetBy, entryId: string, cooldownMinutes: number): Promise<void> {
    const held = this.resetSlots.get(userId);
    if (held && !(held.at < at && held.done)) return;
    this.resetSlots.set(userId, { entryId, at, done: true, by, expiresAt: expiresAfter(at, Math.max(60, cooldownMinutes * 60)) });
  }
  async markResetDone(userId: string, entryId: string, cooldownMinutes: number): Promise<void> {
    const held = this.resetSlots.get(userId);
    if (held?.entryId !== entryId) throw new Error(`reset of ${userId} is not reserved for ${entryId}`);
    held.done = true;
    held.at = this.now();
    held.expiresAt = expiresAfter(this.now(), Math.max(60, cooldownMinutes * 60));
    this.resets.set(userId, this.now());
  }
  async releaseReset(userId: string, entryId: string): Promise<void> {
    const held = this.resetSlots.get(userId);
    if (held?.entryId === entryId && !held.done) this.resetSlots.delete(userId);
  }
  /** A lower budget than the config's, for tests that want the breaker to trip early. */
  maxBudget = Infinity;
  /** With `forReservation`, the unit is noted on that reservation at once (one transaction), as ResetGuard does. */
  async consumeResetBudget(maxPerHour: number, forReservation?: { userId: string; entryId: string }): Promise<boolean> {
    const units = this.unitsInWindow();
    if (units.length >= Math.min(maxPerHour, this.maxBudget)) return false;
    if (forReservation) {
      const held = this.resetSlots.get(forReservation.userId);
      // The reservation is no longer this entry's, or already carries its unit: nothing taken.
      if (held?.entryId !== forReservation.entryId || held.budgetAt !== undefined) throw new LeaseHeldError(`user#${forReservation.userId}/last-reset`);
      held.budgetAt = this.now();
    }
    this.writeWindow([...units, this.now()]);
    return true;
  }
  /** As ResetGuard.takeResetBudget: in order while the budget lasts, each noted on its reservation. */
  async takeResetBudget(maxPerHour: number, reservations: readonly { userId: string; entryId: string }[]): Promise<BudgetAnswer[]> {
    const answers: BudgetAnswer[] = [];
    for (const reservation of reservations) {
      try {
        answers.push((await this.consumeResetBudget(maxPerHour, reservation)) ? 'taken' : 'spent');
      } catch (error) {
        if (!(error instanceof LeaseHeldError)) throw error;
        answers.push('lost');
      }
    }
    return answers;
  }
  async refundResetBudget(count = 1): Promise<void> {
    const units = this.unitsInWindow().sort((a, b) => a - b);
    if (!units.length || count <= 0) return;
    this.writeWindow(units.slice(0, Math.max(0, units.length - count)));
  }

  /** The item the DynamoDB adapters would hold under `key` (undefined: none), TTL included. */
  stored(key: LedgerKey): StoredItem | undefined {
    const item = (attributes: Record<string, unknown>): StoredItem => ({ ...structuredClone(attributes), ...key });
    const [kind, id] = [key.pk.slice(0, key.pk.indexOf('#') + 1), key.pk.slice(key.pk.indexOf('#') + 1)];
    if (key.pk === LEDGER_KEYS.checkpoint().pk && key.sk === LEDGER_KEYS.checkpoint().sk) {
      return this.checkpointUpdatedAt === undefined ? undefined : item({ ...this.checkpoint, updatedAt: this.checkpointUpdatedAt });
    }
    if (key.pk === LEDGER_KEYS.pollerLease().pk && key.sk === LEDGER_KEYS.pollerLease().sk) return this.lease && item({ ...this.lease });
    if (kind === 'seen#' && key.sk === '-') return this.seen.has(id) ? item({ expiresAt: this.seen.get(id) }) : undefined;
    if (kind === 'entry#' && key.sk === 'decision') {
      const record = this.decisions.get(id);
      return record && item({ ...record });
    }
    if (kind === 'user#' && key.sk === 'last-reset') {
      const slot = this.resetSlots.get(id);
      return (
        slot &&
        item({
          entryId: slot.entryId,
          at: slot.at,
          expiresAt: slot.expiresAt,
          ...(slot.done ? { done: true } : {}),
          ...(slot.budgetAt !== undefined ? { budgetAt: slot.budgetAt } : {}),
          ...(slot.by ? { by: slot.by } : {}),
        })
      );
    }
    if (key.pk === LEDGER_KEYS.breaker().pk && key.sk === LEDGER_KEYS.breaker().sk) return this.budget && item({ ...this.budget });
    return undefined;
  }
}
