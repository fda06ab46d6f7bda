import type { Digests } from '../../functions/adapters/dynamodb/digests';

/** The Digests ledger records in memory (test/integration/digests.test.ts holds both to the same behaviour). */
export class InMemoryDigests implements Pick<Digests, 'enter' | 'claimFlush' | 'releaseFlush' | 'members'> {
  readonly counts = new Map<string, number>();
  readonly flushes = new Set<string>();
  readonly entries = new Map<string, Map<string, { job: Record<string, unknown>; digested?: boolean }>>();

  async enter(digestId: string, entryId: string, job: Record<string, unknown>, sendAlone: number): Promise<{ digested: boolean }> {
    const members = this.entries.get(digestId) ?? new Map();
    this.entries.set(digestId, members);
    const existing = members.get(entryId);
    if (existing) return { digested: existing.digested === true };
    members.set(entryId, { job: structuredClone(job) });
    const count = (this.counts.get(digestId) ?? 0) + 1;
    this.counts.set(digestId, count);
    const digested = count > sendAlone;
    members.get(entryId)!.digested = digested;
    return { digested };
  }
  async claimFlush(digestId: string): Promise<boolean> {
    if (this.flushes.has(digestId)) return false;
    this.flushes.add(digestId);
    return true;
  }
  async releaseFlush(digestId: string): Promise<void> {
    this.flushes.delete(digestId);
  }
  async members(digestId: string): Promise<Record<string, unknown>[]> {
    return [...(this.entries.get(digestId)?.entries() ?? [])]
      .sort(([a], [b]) => a.localeCompare(b))
      .filter(([, m]) => m.digested)
      .map(([, m]) => structuredClone(m.job));
  }
}
