import type { DecisionRecord } from '../../functions/adapters/dynamodb/decision-log';

/**
 * The facts of a response log record that the outcome alone does not say, for one-line views
 * (local mode's progress, `npm run history`): which sessions, which trusted range, a dry run.
 * E.g. "scope session", "scope all (no_session_id)", "trusted 198.51.100.0/24", "reset by admin", "dry run".
 */
export function responseDetails(record: Pick<DecisionRecord, 'response'>): string[] {
  const facts = (record.response ?? {}) as { scope?: string; scopeFallback?: string; trustedNetwork?: string; resetBy?: string; dryRun?: boolean };
  return [
    facts.scope ? `scope ${facts.scope}${facts.scopeFallback ? ` (${facts.scopeFallback})` : ''}` : undefined,
    facts.trustedNetwork ? `trusted ${facts.trustedNetwork}` : undefined,
    facts.resetBy ? `reset by ${facts.resetBy}` : undefined,
    facts.dryRun ? 'dry run' : undefined,
  ].filter((detail): detail is string => detail !== undefined);
}
