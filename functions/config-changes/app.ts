import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { METRIC, MetricUnit } from '../runtime/observability';
import { reportFailure } from '../runtime/retry-policy';
import { recordConfigChange, type ConfigChangeDeps } from './record';

export interface ConfigChangesApp {
  deps: ConfigChangeDeps;
  logger: Logger;
  metrics: Metrics;
}

/**
 * The config table's stream records, one at a time in order; a failed record is reported by its
 * sequence number, so Lambda retries from there (records after it are recorded once, as the
 * response log's claim makes a second recording a no-op).
 */
export function makeConfigChangesHandler(app: ConfigChangesApp) {
  const { logger, metrics } = app;
  return async (event: DynamoDBStreamEvent, context: Context): Promise<DynamoDBBatchResponse> => {
    const processor = new BatchProcessor(EventType.DynamoDBStreams);
    const recordHandler = async (record: DynamoDBRecord): Promise<void> => {
      try {
        const outcome = await recordConfigChange(record, { ...app.deps, logger });
        if (outcome.kind === 'recorded') {
          metrics.addMetric(METRIC.configChanges, MetricUnit.Count, 1);
          if (outcome.change.warnings.length) metrics.addMetric(METRIC.configChangesWeakening, MetricUnit.Count, 1);
        }
        if (outcome.kind === 'rejected') metrics.addMetric(METRIC.entriesRejected, MetricUnit.Count, 1);
      } catch (error) {
        reportFailure(error, { logger, metrics, failureMetric: METRIC.actionFailures, holding: 'the config change is not yet recorded' });
        throw error;
      }
    };
    return processPartialResponse(event, recordHandler, processor, { context, processInParallel: false, throwOnFullBatchFailure: false });
  };
}
