import type { TokenName } from './auth';
import type { FaultKind } from './faults';

/** What the simulator saw and did; every time is the simulator clock in epoch ms. */

export interface ResetRecord {
  userId: string;
  at: number;
  method: 'admin.users.session.reset' | 'admin.users.session.resetBulk';
  mobileOnly: boolean;
  webOnly: boolean;
}

export interface InvalidationRecord {
  userId: string;
  sessionId: string;
  at: number;
}

/** One admin.audit.anomaly.allow.updateItem that took effect: the whole list after it. */
export interface AllowListRecord {
  cidrs: string[];
  asns: number[];
  at: number;
}

export interface DmRecord {
  channel: string;
  userIds: string[];
  /** First conversations.open for these users. */
  at: number;
  /** How many times conversations.open was asked for it. */
  opens: number;
}

export interface MessageRecord {
  channel: string;
  /** The other party of a DM channel, when the channel is one. */
  userId?: string;
  text?: string;
  blocks?: unknown[];
  threadTs?: string;
  ts: string;
  at: number;
}

export interface CallRecord {
  at: number;
  /** Web API method, or 'audit.logs'. */
  method: string;
  /** HTTP status sent; 0 when the connection was dropped. */
  status: number;
  /** Slack's `ok`; for the Audit Logs API, whose successes carry no `ok`, whether the status was 2xx. */
  ok?: boolean;
  error?: string;
  fault?: FaultKind;
  /** Refused by the per-method rate limits (HTTP 429, error ratelimited); fault rate_limit is `fault`. */
  rateLimited?: boolean;
  /** Which configured token was used (never the token itself). */
  token: TokenName | 'none' | 'unknown';
  /** Request parameters without the token. */
  args: Record<string, unknown>;
}

export interface Recordings {
  /** Session resets that took effect (a faulted-before or refused request records none). */
  resets: ResetRecord[];
  /** Every reset request per user id, whatever became of it (faults and errors included). */
  resetRequests: Record<string, number>;
  invalidations: InvalidationRecord[];
  /** Every write of Slack's anomaly allow-list; the last one is the list (empty before any). */
  allowListUpdates: AllowListRecord[];
  dms: DmRecord[];
  messages: MessageRecord[];
  calls: CallRecord[];
  /** Calls left out of `calls` because the log is capped. */
  callsDropped: number;
  /** Calls refused by the per-method rate limits (fault rules not included), in all and per target. */
  rateLimited: { total: number; byMethod: Record<string, number> };
}

export class Recorder {
  private data: Recordings = Recorder.empty();

  constructor(private readonly maxCalls = 50_000) {}

  private static empty(): Recordings {
    return { resets: [], resetRequests: {}, invalidations: [], allowListUpdates: [], dms: [], messages: [], calls: [], callsDropped: 0, rateLimited: { total: 0, byMethod: {} } };
  }

  clear(): void {
    this.data = Recorder.empty();
  }

  reset(record: ResetRecord): void {
    this.data.resets.push(record);
  }

  resetRequested(userId: string): void {
    this.data.resetRequests[userId] = (this.data.resetRequests[userId] ?? 0) + 1;
  }

  rateLimited(method: string): void {
    this.data.rateLimited.total += 1;
    this.data.rateLimited.byMethod[method] = (this.data.rateLimited.byMethod[method] ?? 0) + 1;
  }

  invalidation(record: InvalidationRecord): void {
    this.data.invalidations.push(record);
  }

  allowListUpdate(record: AllowListRecord): void {
    this.data.allowListUpdates.push(record);
  }

  /** Slack's anomaly allow-list as it stands. */
  allowList(): { cidrs: string[]; asns: number[] } {
    const last = this.data.allowListUpdates.at(-1);
    return { cidrs: [...(last?.cidrs ?? [])], asns: [...(last?.asns ?? [])] };
  }

  dmOpened(channel: string, userIds: string[], at: number): { alreadyOpen: boolean } {
    const existing = this.data.dms.find((d) => d.channel === channel);
    if (existing) {
      existing.opens += 1;
      return { alreadyOpen: true };
    }
    this.data.dms.push({ channel, userIds: [...userIds].sort(), at, opens: 1 });
    return { alreadyOpen: false };
  }

  dm(channel: string): DmRecord | undefined {
    return this.data.dms.find((d) => d.channel === channel);
  }

  message(record: MessageRecord): void {
    this.data.messages.push(record);
  }

  call(record: CallRecord): void {
    this.data.calls.push(record);
    if (this.data.calls.length > this.maxCalls) {
      this.data.calls.shift();
      this.data.callsDropped += 1;
    }
  }

  /** A deep copy: callers may keep or change it freely. */
  snapshot(): Recordings {
    return structuredClone(this.data);
  }
}
