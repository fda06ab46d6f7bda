/**
 * The shape of every table, queue and function, as plain data. The CDK stacks deploy these and
 * local mode creates its emulated tables and queues from them, so the two cannot drift.
 * No CDK imports here: local mode loads this without aws-cdk-lib.
 */

export interface KeyDefinition {
  name: string;
  type: 'S' | 'N';
}

export interface TableDefinition {
  partitionKey: KeyDefinition;
  sortKey?: KeyDefinition;
  timeToLiveAttribute?: string;
  globalSecondaryIndexes?: { indexName: string; partitionKey: KeyDefinition; sortKey?: KeyDefinition }[];
}

export const TABLES = {
  /** Human-edited response configuration: one item per concern (see functions/domain/config/items.ts). */
  config: {
    partitionKey: { name: 'id', type: 'S' },
  },
  /** Machine-written: checkpoint, seen entries, decisions, notification receipts, safety counters. */
  ledger: {
    partitionKey: { name: 'pk', type: 'S' },
    sortKey: { name: 'sk', type: 'S' },
    timeToLiveAttribute: 'expiresAt',
    globalSecondaryIndexes: [
      // Decision records only (sparse): the response log of one person, newest last.
      { indexName: 'byUser', partitionKey: { name: 'userId', type: 'S' }, sortKey: { name: 'decidedAt', type: 'S' } },
      // Decision records only: everything decided on one UTC day, in time order.
      { indexName: 'byDay', partitionKey: { name: 'day', type: 'S' }, sortKey: { name: 'decidedAt', type: 'S' } },
    ],
  },
} as const satisfies Record<string, TableDefinition>;

export interface QueueDefinition {
  /** Six times the consumer's timeout, as AWS advises for Lambda event sources. */
  visibilityTimeoutSeconds: number;
  /** Receives before a message moves to the dead-letter queue. */
  maxReceiveCount: number;
  retentionSeconds: number;
  deadLetterRetentionSeconds: number;
}

export interface FunctionDefinition {
  /** Handler file, relative to the project root. */
  entry: string;
  /**
   * Powertools service name: the handler passes it to its logger and metrics, and it is the
   * `service` dimension the alarms select on.
   */
  serviceName: string;
  timeoutSeconds: number;
  memoryMiB: number;
  description: string;
}

export const FUNCTIONS = {
  pollAuditLogs: {
    entry: 'functions/poll-audit-logs/handler.ts',
    serviceName: 'poll-audit-logs',
    timeoutSeconds: 90,
    memoryMiB: 256,
    description: 'Polls the Slack audit log for anomaly events and enqueues new ones',
  },
  respond: {
    entry: 'functions/respond/handler.ts',
    serviceName: 'respond',
    timeoutSeconds: 60,
    memoryMiB: 256,
    description: 'Decides on each anomaly and ends the affected user\u2019s Slack sessions',
  },
  notify: {
    entry: 'functions/notify/handler.ts',
    serviceName: 'notify',
    timeoutSeconds: 60,
    memoryMiB: 256,
    description: 'Emails (SES) and messages (Slack) the affected user, primary owner and security admins',
  },
} as const satisfies Record<string, FunctionDefinition>;

/**
 * Every function's log group is named `<prefix><service name>`: the project key's policy lets
 * CloudWatch Logs use the key for log groups under this prefix only.
 */
export const LOG_GROUP_PREFIX = '/slack-anomaly-responder/';

/** CloudWatch namespace of every custom metric the functions emit (EMF) and the alarms read. */
export const METRICS_NAMESPACE = 'SlackAnomalyResponder';

/** The name each function's logger and metrics carry. */
export type ServiceName = (typeof FUNCTIONS)[keyof typeof FUNCTIONS]['serviceName'];

export interface BundlingDefinition {
  /** esbuild target: must match the Lambda runtime (a test checks it does). */
  target: `node${number}`;
  format: 'cjs' | 'esm';
  minify: boolean;
  /** An external `index.js.map` next to the bundle (the functions run with --enable-source-maps). */
  sourceMap: boolean;
  mainFields: readonly string[];
  /** Packages left out of the bundle, to be resolved from the runtime at import. */
  externalModules: readonly string[];
  /** JavaScript put before the bundle, if any. */
  banner?: string;
}

/**
 * How every function is bundled by esbuild. lib/constructs/responder-function.ts deploys with
 * these settings and `npm run bench` (tools/cli/bench.ts) measures with them, so the figures are
 * those of what is deployed.
 */
export const LAMBDA_BUNDLING: BundlingDefinition = {
  target: 'node24',
  format: 'cjs',
  minify: true,
  sourceMap: true,
  // Prefer ESM entry points: esbuild tree-shakes them far better than CommonJS builds.
  mainFields: ['module', 'main'],
  // Nothing external, the AWS SDK included: the functions run the SDK version pinned in
  // package-lock.json, the one the tests ran, not whichever one the Lambda runtime ships that week.
  externalModules: [],
};

const FOURTEEN_DAYS = 14 * 24 * 3600;

export const QUEUES = {
  anomalies: {
    visibilityTimeoutSeconds: 6 * FUNCTIONS.respond.timeoutSeconds,
    maxReceiveCount: 8,
    retentionSeconds: 4 * 24 * 3600,
    deadLetterRetentionSeconds: FOURTEEN_DAYS,
  },
  notifications: {
    visibilityTimeoutSeconds: 6 * FUNCTIONS.notify.timeoutSeconds,
    maxReceiveCount: 8,
    retentionSeconds: 4 * 24 * 3600,
    deadLetterRetentionSeconds: FOURTEEN_DAYS,
  },
} as const satisfies Record<string, QueueDefinition>;

/** SQS event-source settings of the two queue consumers. */
export const EVENT_SOURCES = {
  // Big batches: respond signs a batch's people out with one resetBulk (Tier 2, ~20 calls a minute),
  // so a burst needs few calls; the one-second window bounds what it adds to a lone anomaly.
  respond: { queue: 'anomalies', batchSize: 1000, maxBatchingWindowSeconds: 1, maxConcurrency: 2 },
  notify: { queue: 'notifications', batchSize: 10, maxBatchingWindowSeconds: 1, maxConcurrency: 2 },
} as const;

/** The poller runs once a minute (the scheduler's floor) and polls several rounds inside each run. */
export const SCHEDULE = { pollEveryMinutes: 1 } as const;
