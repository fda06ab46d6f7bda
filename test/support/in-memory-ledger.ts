import { LeaseHeldError, type Checkpoint, type ClaimResult, type DecisionRecord } from '../../functions/shared/aws/ledger';

/** The Ledger's semantics (claims, leases, budgets) in memory, for use-case tests. */
export class InMemoryLedger {
  checkpoint: Checkpoint = {};
  readonly seen = new Set<string>();
  readonly decisions = new Map<string, DecisionRecord>();
  readonly resets = new Map<string, number>();
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
    return existing ? { claimed: true, previous: existing } : { claimed: true };
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
  async lastReset(userId: string): Promise<number | undefined> {
    return this.resets.get(userId);
  }
  async recordReset(userId: string): Promise<void> {
    this.resets.set(userId, this.now());
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
