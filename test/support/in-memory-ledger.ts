import { LeaseHeldError } from '../../functions/domain/errors';
import type { ClaimResult, DecisionRecord } from '../../functions/adapters/dynamodb/decision-log';
import type { Checkpoint } from '../../functions/adapters/dynamodb/poll-state';
import type { ResetClaim } from '../../functions/adapters/dynamodb/reset-guard';

/** The ledger's semantics (PollState, DecisionLog, ResetGuard: claims, leases, budgets) in memory, for use-case tests. */
export class InMemoryLedger {
  checkpoint: Checkpoint = {};
  readonly seen = new Set<string>();
  readonly decisions = new Map<string, DecisionRecord>();
  readonly resets = new Map<string, number>();
  /** Reset reservations (loop protection): user → the entry holding it, when, and whether it went through. */
  readonly resetSlots = new Map<string, { entryId: string; at: number; done: boolean }>();
  resetBudgetUsed = 0;
  checkpointWrites: Checkpoint[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  async getCheckpoint(): Promise<Checkpoint> {
    return structuredClone(this.checkpoint);
  }
  async saveCheckpoint(state: Checkpoint): Promise<void> {
    this.checkpoint = structuredClone(state);
    this.checkpointWrites.push(structuredClone(state));
  }
  async filterUnseen(ids: string[]): Promise<string[]> {
    return [...new Set(ids)].filter((id) => !this.seen.has(id));
  }
  async markSeen(ids: string[]): Promise<void> {
    ids.forEach((id) => this.seen.add(id));
  }

  async claimEntry(entryId: string, leaseMs: number): Promise<ClaimResult> {
    const existing = this.decisions.get(entryId);
    if (existing?.status === 'done') return { claimed: false, existing: structuredClone(existing) };
    if (existing && (existing.leaseUntil ?? 0) >= this.now()) throw new LeaseHeldError(`entry#${entryId}`);
    this.decisions.set(entryId, { entryId, status: 'in_progress', leaseUntil: this.now() + leaseMs });
    return { claimed: true };
  }
  async releaseEntry(entryId: string): Promise<void> {
    if (this.decisions.get(entryId)?.status === 'in_progress') this.decisions.delete(entryId);
  }
  async completeDecision(record: Omit<DecisionRecord, 'status'>): Promise<DecisionRecord> {
    const done = { ...structuredClone(record), status: 'done' as const, decidedAt: new Date(this.now()).toISOString() };
    this.decisions.set(record.entryId, done);
    return structuredClone(done);
  }
  async markNotificationQueued(entryId: string): Promise<void> {
    const record = this.decisions.get(entryId);
    if (record) record.notificationQueued = true;
  }
  async claimReset(userId: string, entryId: string, cooldownMinutes: number): Promise<ResetClaim> {
    const held = this.resetSlots.get(userId);
    if (!held || held.at <= this.now() - cooldownMinutes * 60_000) {
      this.resetSlots.set(userId, { entryId, at: this.now(), done: false });
      return { claimed: true, alreadyReset: false };
    }
    if (held.entryId === entryId) return { claimed: true, alreadyReset: held.done };
    return { claimed: false, lastResetAt: held.at, entryId: held.entryId, checkedAt: this.now() };
  }
  async markResetDone(userId: string, entryId: string): Promise<void> {
    const held = this.resetSlots.get(userId);
    if (held?.entryId !== entryId) throw new Error(`reset of ${userId} is not reserved for ${entryId}`);
    held.done = true;
    held.at = this.now();
    this.resets.set(userId, this.now());
  }
  async releaseReset(userId: string, entryId: string): Promise<void> {
    const held = this.resetSlots.get(userId);
    if (held?.entryId === entryId && !held.done) this.resetSlots.delete(userId);
  }
  maxBudget = Infinity;
  async consumeResetBudget(maxPerHour: number): Promise<boolean> {
    if (this.resetBudgetUsed >= Math.min(maxPerHour, this.maxBudget)) return false;
    this.resetBudgetUsed++;
    return true;
  }
  async refundResetBudget(): Promise<void> {
    this.resetBudgetUsed = Math.max(0, this.resetBudgetUsed - 1);
  }
}
