import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { CONFIG_STREAM, FUNCTIONS } from '../../../lib/definitions';
import { sleep } from '../../../functions/runtime/time';
import { invokeWithTimeout, LOCAL_ACCOUNT_ID, type LambdaHandler, type LambdaSettings } from './lambda-context';
import { LOCAL_CREDENTIALS } from './emulators';

export interface StreamSourceOptions {
  dynamodb: DynamoDBClient;
  /** DynamoDB Local's endpoint: it serves the Streams API too. */
  endpoint: string;
  region: string;
  tableName: string;
  handler: LambdaHandler<DynamoDBStreamEvent>;
  /** Where to start: LATEST (changes from now on) or TRIM_HORIZON (everything the stream holds). Default LATEST. */
  startingPosition?: 'LATEST' | 'TRIM_HORIZON';
  pollIntervalMs?: number;
  onInvoke?: (report: StreamInvocationReport) => void;
  onError?: (error: unknown) => void;
}

export interface StreamInvocationReport {
  functionName: string;
  result: 'success' | 'partial-failure' | 'error' | 'timeout';
  records: number;
  error?: unknown;
  /** The batch was given up after CONFIG_STREAM.retryAttempts retries (on AWS: sent to the on-failure queue). */
  discarded?: boolean;
}

export interface StreamSource {
  readonly stats: Readonly<{ invocations: number; records: number; discarded: number }>;
  /** Resolves when a poll of every shard found nothing new (or rejects after timeoutMs). */
  idle(options?: { timeoutMs?: number }): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Polls a table's DynamoDB stream (DynamoDB Local serves DescribeStream / GetShardIterator /
 * GetRecords) and invokes a handler as Lambda's DynamoDB event source does with
 * ReportBatchItemFailures: a batch in stream order; a failed record (or a failed invocation) is
 * retried from its sequence number, at most CONFIG_STREAM.retryAttempts times, then given up
 * (reported, as AWS would send it to the on-failure queue). Bisecting is not emulated: retrying
 * from the failed record already re-sends only it and what follows.
 */
export function startStreamSource(options: StreamSourceOptions): StreamSource {
  const functionName = 'config-changes';
  const lambda: LambdaSettings = {
    functionName,
    timeoutSeconds: FUNCTIONS.configChanges.timeoutSeconds,
    memoryMiB: FUNCTIONS.configChanges.memoryMiB,
    region: options.region,
    accountId: LOCAL_ACCOUNT_ID,
  };
  const streams = new DynamoDBStreamsClient({ region: options.region, credentials: LOCAL_CREDENTIALS, endpoint: options.endpoint });
  const onError = options.onError ?? ((error: unknown) => console.error(`[${functionName} stream source]`, error));
  const stats = { invocations: 0, records: 0, discarded: 0 };
  /** Shard id → its next iterator (undefined once the shard is closed and read to its end). */
  const iterators = new Map<string, string | undefined>();
  let streamArn: string | undefined;
  let stopped = false;
  let quietPolls = 0;
  let polls = 0;
  const stopSignal = new AbortController();

  const iteratorAt = async (shardId: string, type: 'LATEST' | 'TRIM_HORIZON' | 'AT_SEQUENCE_NUMBER', sequenceNumber?: string) =>
    (await streams.send(new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shardId, ShardIteratorType: type, SequenceNumber: sequenceNumber }))).ShardIterator;

  const discoverShards = async (first: boolean) => {
    if (!streamArn) {
      const { Table } = await options.dynamodb.send(new DescribeTableCommand({ TableName: options.tableName }));
      streamArn = Table?.LatestStreamArn;
      if (!streamArn) throw new Error(`table ${options.tableName} has no stream`);
    }
    const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
    for (const shard of StreamDescription?.Shards ?? []) {
      if (!shard.ShardId || iterators.has(shard.ShardId)) continue;
      // Shards found later are new: read them from their start.
      iterators.set(shard.ShardId, await iteratorAt(shard.ShardId, first ? (options.startingPosition ?? 'LATEST') : 'TRIM_HORIZON'));
    }
  };

  /** Invoke until the batch is handled or given up; returns the iterator to continue with. */
  const deliver = async (shardId: string, records: StreamRecord[], next: string | undefined): Promise<string | undefined> => {
    let batch = records;
    for (let attempt = 0; ; attempt++) {
      const event: DynamoDBStreamEvent = { Records: batch.map((record) => toLambdaRecord(record, streamArn!, options.region)) };
      const { outcome } = await invokeWithTimeout(options.handler, event, lambda);
      stats.invocations++;
      let failedSequence: string | undefined;
      let result: StreamInvocationReport['result'];
      let error: unknown;
      if (outcome.kind === 'returned') {
        const failures = (outcome.value as DynamoDBBatchResponse | undefined)?.batchItemFailures ?? [];
        failedSequence = failures.map((f) => f.itemIdentifier).sort(bySequence)[0];
        result = failedSequence ? 'partial-failure' : 'success';
      } else {
        result = outcome.kind === 'threw' ? 'error' : 'timeout';
        error = outcome.error;
        failedSequence = batch[0].dynamodb?.SequenceNumber;
      }
      const handled = failedSequence ? batch.filter((r) => bySequence(r.dynamodb!.SequenceNumber!, failedSequence!) < 0).length : batch.length;
      stats.records += handled;
      const discarded = !!failedSequence && attempt >= CONFIG_STREAM.retryAttempts;
      options.onInvoke?.({ functionName, result, records: batch.length, error, ...(discarded ? { discarded } : {}) });
      if (!failedSequence) return next;
      if (discarded) {
        stats.discarded += batch.length - handled;
        return next;
      }
      batch = batch.filter((r) => bySequence(r.dynamodb!.SequenceNumber!, failedSequence!) >= 0);
      await sleep(Math.min(100 * 2 ** attempt, 2000), stopSignal.signal).catch(() => undefined);
      if (stopped) return iteratorAt(shardId, 'AT_SEQUENCE_NUMBER', failedSequence);
    }
  };

  const loop = (async () => {
    let first = true;
    while (!stopped) {
      try {
        await discoverShards(first);
        first = false;
        let found = 0;
        for (const [shardId, iterator] of iterators) {
          if (!iterator || stopped) continue;
          const out = await streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: CONFIG_STREAM.batchSize }));
          const records = out.Records ?? [];
          found += records.length;
          iterators.set(shardId, records.length ? await deliver(shardId, records, out.NextShardIterator) : out.NextShardIterator);
        }
        quietPolls = found ? 0 : quietPolls + 1;
        polls++;
      } catch (error) {
        if (!stopped) onError(error);
      }
      await sleep(options.pollIntervalMs ?? 200, stopSignal.signal).catch(() => undefined);
    }
  })();

  return {
    stats,
    async idle({ timeoutMs = 30_000 } = {}) {
      const deadline = Date.now() + timeoutMs;
      // Two whole polls after the call, the last one quiet: anything written before it was read and handled.
      const start = polls;
      while (polls < start + 2 || quietPolls < 1) {
        if (Date.now() > deadline) throw new Error(`the ${functionName} stream source did not go idle within ${timeoutMs} ms`);
        await sleep(50);
      }
    },
    async stop() {
      stopped = true;
      stopSignal.abort();
      await loop;
      streams.destroy();
    },
  };
}

/** Stream sequence numbers are decimal strings of varying length. */
function bySequence(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/** The record as Lambda hands it over: epoch seconds for the creation time, the source ARN, the region. */
function toLambdaRecord(record: StreamRecord, streamArn: string, region: string): DynamoDBRecord {
  const { dynamodb } = record;
  return {
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: record.eventVersion ?? '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: region,
    eventSourceARN: streamArn,
    ...(record.userIdentity ? { userIdentity: { type: record.userIdentity.Type, principalId: record.userIdentity.PrincipalId } } : {}),
    dynamodb: {
      ...(dynamodb as DynamoDBRecord['dynamodb']),
      ApproximateCreationDateTime: dynamodb?.ApproximateCreationDateTime ? Math.floor(dynamodb.ApproximateCreationDateTime.getTime() / 1000) : undefined,
    },
  } as DynamoDBRecord;
}
