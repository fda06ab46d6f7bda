import type { ConfigSource } from '../adapters/dynamodb/config-table';
import type { PollState } from '../adapters/dynamodb/poll-state';
import type { SlackApi } from '../adapters/slack/web-api';
import { planAllowListSync, type AllowList } from '../domain/allow-list';

export interface AllowListSyncDeps {
  config: ConfigSource;
  slack: Pick<SlackApi, 'anomalyAllowList' | 'setAnomalyAllowList'>;
  state: Pick<PollState, 'lastWrittenAllowList' | 'saveWrittenAllowList'>;
}

export type AllowListSyncResult =
  | { kind: 'off' }
  | {
      /** would_update: a dry run (safety.dryRun) writes nothing to Slack. */
      kind: 'in_sync' | 'updated' | 'would_update';
      list: AllowList;
      /** Someone changed the list in Slack since we last wrote it: what we wrote, and what was there. */
      drift?: { lastWritten: AllowList; found: AllowList };
      /** Configured IPv6 ranges Slack's list cannot hold. */
      notSynced: string[];
    };

/**
 * `trustedNetworks.syncToSlack`: keep Slack's own anomaly allow-list equal to the configured IPv4
 * ranges and ASNs (updateItem overwrites the whole list, so the configuration is the one place it
 * is kept). A list that differs from what this deployment last wrote was changed in Slack: that
 * drift is returned for the caller to log and alert on, and the configuration's list is written back.
 */
export async function syncAllowList(deps: AllowListSyncDeps): Promise<AllowListSyncResult> {
  const config = await deps.config.load();
  if (!config.trustedNetworks.syncToSlack) return { kind: 'off' };
  const [found, lastWritten] = await Promise.all([deps.slack.anomalyAllowList(), deps.state.lastWrittenAllowList()]);
  const plan = planAllowListSync(config.trustedNetworks, found, lastWritten);
  const base = { list: plan.desired, notSynced: plan.notSynced, ...(plan.drift ? { drift: plan.drift } : {}) };
  if (!plan.update) {
    // Equal already (e.g. set by hand to the same list): remember it, so a later change in Slack shows as drift.
    if (!lastWritten || plan.drift) await deps.state.saveWrittenAllowList(plan.desired);
    return { kind: 'in_sync', ...base };
  }
  if (config.safety.dryRun) return { kind: 'would_update', ...base };
  await deps.slack.setAnomalyAllowList(plan.desired);
  await deps.state.saveWrittenAllowList(plan.desired);
  return { kind: 'updated', ...base };
}
