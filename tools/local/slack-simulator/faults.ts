import { z } from 'zod';
import { seededRandom, type Random } from './random';

/**
 * Fault injection for reliability tests. A rule names a target (a Web API method,
 * 'audit.logs', or '*'), a kind, and a schedule (the first N matching calls, every Nth, or
 * with a probability drawn from a seeded generator, so runs repeat exactly).
 *
 * Phase: `before` (default) answers with the fault instead of doing the work — nothing
 * changes, as when Slack refuses or never receives a request. `after` does the work first
 * and then answers with the fault — "the reset happened but the response was lost", the
 * case at-most-once logic must survive.
 */

export const FAULT_KINDS = ['rate_limit', 'server_error', 'slow', 'drop', 'error'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
export const AUDIT_TARGET = 'audit.logs';

export const faultRuleSchema = z
  .strictObject({
    /** A Web API method (e.g. admin.users.session.reset), 'audit.logs', or '*' for every call. */
    target: z.string().min(1),
    kind: z.enum(FAULT_KINDS),
    phase: z.enum(['before', 'after']).default('before'),
    /** Fire on the first N matching calls. */
    firstN: z.number().int().min(1).optional(),
    /** Fire on the Nth, 2Nth, … matching call. */
    everyNth: z.number().int().min(1).optional(),
    /** Fire with this probability (seeded: the same seed gives the same calls). */
    probability: z.number().min(0).max(1).optional(),
    seed: z.number().int().optional(),
    /** rate_limit: the Retry-After header, seconds. */
    retryAfterSeconds: z.number().int().min(0).default(30),
    /** server_error: the HTTP status. */
    status: z.union([z.literal(500), z.literal(502), z.literal(503), z.literal(504)]).default(503),
    /** slow: how long to wait (before or after the work, by phase). */
    delayMs: z.number().int().min(0).max(600_000).default(1000),
    /** error: the Slack error code answered with ok:false, e.g. invalid_auth. */
    error: z.string().min(1).optional(),
    /** Only calls whose parameters equal these, e.g. { "user_id": "W01EN00005" }. */
    match: z.record(z.string(), z.string()).optional(),
    /** Free text, shown in the state dump. */
    label: z.string().optional(),
  })
  .superRefine((rule, ctx) => {
    const schedules = [rule.firstN, rule.everyNth, rule.probability].filter((v) => v !== undefined).length;
    if (schedules > 1) ctx.addIssue({ code: 'custom', path: ['firstN'], message: 'give at most one of firstN, everyNth, probability' });
    if (rule.kind === 'error' && !rule.error) ctx.addIssue({ code: 'custom', path: ['error'], message: 'is required for kind "error"' });
  });

export type FaultRuleInput = z.input<typeof faultRuleSchema>;
export type FaultRule = z.output<typeof faultRuleSchema>;

export interface FaultRuleStatus extends FaultRule {
  /** Matching calls seen. */
  calls: number;
  /** Times it fired. */
  fired: number;
}

/** A fault that replaces the answer. */
export interface ActiveFault {
  kind: Exclude<FaultKind, 'slow'>;
  phase: 'before' | 'after';
  rule: FaultRule;
}

export interface FaultPlan {
  delayBeforeMs: number;
  delayAfterMs: number;
  fault?: ActiveFault;
}

interface RuleState {
  rule: FaultRule;
  calls: number;
  fired: number;
  random: Random;
}

export class FaultInjector {
  private rules: RuleState[] = [];

  constructor(private readonly seed = 1) {}

  /** Replace all rules (an empty list clears them); counters restart. Throws on an invalid rule. */
  set(rules: readonly FaultRuleInput[]): void {
    this.rules = [];
    this.add(rules);
  }

  add(rules: readonly FaultRuleInput[]): void {
    const parsed = z.array(faultRuleSchema).safeParse(rules);
    if (!parsed.success) {
      const where = (path: PropertyKey[]) => path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
      throw new Error(`invalid fault rules: ${parsed.error.issues.map((i) => `rules${where(i.path)}: ${i.message}`).join('; ')}`);
    }
    for (const rule of parsed.data) {
      const index = this.rules.length;
      this.rules.push({ rule, calls: 0, fired: 0, random: seededRandom(rule.seed ?? this.seed * 7919 + index) });
    }
  }

  clear(): void {
    this.rules = [];
  }

  status(): FaultRuleStatus[] {
    return this.rules.map(({ rule, calls, fired }) => ({ ...rule, calls, fired }));
  }

  /**
   * Decide what happens to one call. Every matching rule counts it; slow rules add their
   * delays; the first other rule that fires supplies the fault.
   */
  plan(target: string, params: Record<string, unknown>): FaultPlan {
    const plan: FaultPlan = { delayBeforeMs: 0, delayAfterMs: 0 };
    for (const state of this.rules) {
      const { rule } = state;
      if (rule.target !== '*' && rule.target !== target) continue;
      if (rule.match && !Object.entries(rule.match).every(([key, value]) => paramText(params[key]) === value)) continue;
      state.calls += 1;
      const fires =
        rule.firstN !== undefined
          ? state.calls <= rule.firstN
          : rule.everyNth !== undefined
            ? state.calls % rule.everyNth === 0
            : rule.probability !== undefined
              ? state.random() < rule.probability
              : true;
      if (!fires) continue;
      if (rule.kind === 'slow') {
        state.fired += 1;
        if (rule.phase === 'before') plan.delayBeforeMs += rule.delayMs;
        else plan.delayAfterMs += rule.delayMs;
      } else if (!plan.fault) {
        state.fired += 1;
        plan.fault = { kind: rule.kind, phase: rule.phase, rule };
      }
    }
    return plan;
  }
}

function paramText(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  return typeof value === 'string' ? value : JSON.stringify(value);
}
