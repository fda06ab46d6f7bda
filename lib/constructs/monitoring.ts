import { Aws, Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRIC } from '../../functions/runtime/observability';
import { METRICS_NAMESPACE } from '../definitions';
import type { ResponderFunction } from './responder-function';

const PERIOD = Duration.minutes(5);

/** The poller saves its checkpoint every minute; 15 minutes behind means anomalies go unanswered. */
export const MAX_CHECKPOINT_AGE_SECONDS = 15 * 60;

export interface MonitoredQueue {
  name: string;
  queue: sqs.IQueue;
  deadLetterQueue: sqs.IQueue;
}

export interface MonitoringProps {
  key: kms.IKey;
  poller: ResponderFunction;
  respond: ResponderFunction;
  notify: ResponderFunction;
  configChanges: ResponderFunction;
  /** The config stream's on-failure destination. */
  configChangesDeadLetters: sqs.IQueue;
  queues: MonitoredQueue[];
  /** Subscribed to the alarm topic when given. */
  alarmEmail?: string;
}

/**
 * Alarms on everything that means "anomalies are not being answered", all sent to one encrypted
 * SNS topic, plus a one-page dashboard.
 */
export class Monitoring extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const functions = [props.poller, props.respond, props.notify, props.configChanges];
    // The functions that hold a Slack token (config-changes holds none).
    const slackFunctions = [props.poller, props.respond, props.notify];

    this.topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'Slack anomaly responder alarms',
      masterKey: props.key,
      enforceSSL: true,
    });
    // enforceSSL gives the topic a policy of its own, which replaces the default one that let
    // this account's alarms publish; so allow them again explicitly.
    this.topic.grantPublish(
      new iam.ServicePrincipal('cloudwatch.amazonaws.com').withConditions({ StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } }),
    );
    if (props.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));

    for (const { name, deadLetterQueue } of props.queues) {
      this.alarm(`${name}DeadLetters`, {
        metric: deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: cloudwatch.Stats.MAXIMUM }),
        description: `Messages reached the ${name} dead-letter queue: they failed every retry and were not acted on. Inspect, fix, then redrive them.`,
      });
    }

    for (const fn of functions) {
      this.alarm(`${fn.node.id}Errors`, {
        metric: fn.function.metricErrors({ period: PERIOD, statistic: cloudwatch.Stats.SUM }),
        description: `The ${fn.serviceName} function failed. See its log group ${fn.logGroup.logGroupName}.`,
      });
    }

    this.alarm('PollerCheckpointAge', {
      metric: customMetric(METRIC.checkpointAgeSeconds, props.poller.serviceName, cloudwatch.Stats.MAXIMUM),
      threshold: MAX_CHECKPOINT_AGE_SECONDS,
      // The poller reports the age on every run; silence means it is not running at all.
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      description: 'The audit-log poller is more than 15 minutes behind, or has not reported for 5 minutes: new anomalies are not being answered.',
    });

    this.alarm('PollerWindowAbandoned', {
      metric: customMetric(METRIC.auditWindowsAbandoned, props.poller.serviceName, cloudwatch.Stats.SUM),
      description:
        'The audit-log poller gave up a time window after Slack\u2019s pagination cursor looped twice: anomalies in it may not have been acted on. The poller log and the ledger checkpoint record (pk poller, attribute abandoned) name the window.',
    });

    this.alarm('ConfigInvalid', {
      metric: customMetric(METRIC.configInvalid, props.respond.serviceName, cloudwatch.Stats.SUM),
      description: 'The response configuration in the config table is invalid, so no sessions are being ended. The respond log names the field.',
    });

    this.alarm('AllowListDrift', {
      metric: customMetric(METRIC.allowListDrift, props.poller.serviceName, cloudwatch.Stats.SUM),
      description:
        'Slack\u2019s anomaly allow-list was changed in Slack, not in the trustedNetworks config item (syncToSlack). The poller wrote the configured list back; its log shows what was found.',
    });
    this.alarm('AllowListSyncFailures', {
      metric: customMetric(METRIC.allowListSyncFailures, props.poller.serviceName, cloudwatch.Stats.SUM),
      description: 'The poller could not keep Slack\u2019s anomaly allow-list equal to trustedNetworks (syncToSlack): its log names the error (often the admin token lacks the `admin` scope).',
    });

    this.alarm('ConfigChangesDeadLetters', {
      metric: props.configChangesDeadLetters.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: cloudwatch.Stats.MAXIMUM }),
      description:
        'Changes to the config table could not be recorded or told to the security admins after every retry. Each message names the stream position: read the change there (or in CloudTrail), and fix config-changes (see its log group).',
    });
    this.alarm('ConfigChangesWeakening', {
      metric: customMetric(METRIC.configChangesWeakening, props.configChanges.serviceName, cloudwatch.Stats.SUM),
      description:
        'The response configuration was weakened (a rule no longer ends sessions, an exclusion or trusted range was added, dry run switched on, or an item removed). The security admins were told; `npm run history -- --config-changes` lists it.',
    });

    for (const fn of slackFunctions) {
      this.alarm(`${fn.node.id}SlackAuthFailures`, {
        metric: customMetric(METRIC.slackAuthFailures, fn.serviceName, cloudwatch.Stats.SUM),
        description: `Slack rejected a token used by ${fn.serviceName} (revoked, expired or missing a scope). The log names the token: update its secret.`,
      });
    }

    this.dashboard(props, functions);
  }

  /** Alarms when the metric exceeds the threshold (default: above zero) in one 5-minute period. */
  private alarm(
    id: string,
    options: { metric: cloudwatch.IMetric; description: string; threshold?: number; treatMissingData?: cloudwatch.TreatMissingData },
  ): void {
    const alarm = new cloudwatch.Alarm(this, id, {
      metric: options.metric,
      threshold: options.threshold ?? 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: options.treatMissingData ?? cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: options.description,
    });
    alarm.addAlarmAction(new actions.SnsAction(this.topic));
    alarm.addOkAction(new actions.SnsAction(this.topic));
    this.alarms.push(alarm);
  }

  private dashboard(props: MonitoringProps, functions: ResponderFunction[]): void {
    const graph = (title: string, metrics: cloudwatch.IMetric[]) => new cloudwatch.GraphWidget({ title, left: metrics, width: 8 });
    const poller = props.poller.serviceName;
    new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.hours(24),
      widgets: [
        [new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24 })],
        [
          graph('Audit entries', [
            customMetric(METRIC.entriesPolled, poller, cloudwatch.Stats.SUM),
            customMetric(METRIC.entriesEnqueued, poller, cloudwatch.Stats.SUM),
            customMetric(METRIC.duplicatesDropped, poller, cloudwatch.Stats.SUM),
          ]),
          graph('Checkpoint age (s)', [customMetric(METRIC.checkpointAgeSeconds, poller, cloudwatch.Stats.MAXIMUM)]),
          graph(
            'Function errors',
            functions.map((fn) => fn.function.metricErrors({ period: PERIOD, label: fn.serviceName })),
          ),
        ],
        [
          graph(
            'Queue backlog',
            props.queues.map(({ name, queue }) => queue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, label: name })),
          ),
          graph(
            'Dead letters',
            props.queues.map(({ name, deadLetterQueue }) =>
              deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, label: `${name} DLQ` }),
            ),
          ),
          graph(
            'Oldest message age (s)',
            props.queues.map(({ name, queue }) => queue.metricApproximateAgeOfOldestMessage({ period: PERIOD, label: name })),
          ),
        ],
      ],
    });
  }
}

/** A Powertools EMF metric: Powertools adds the `service` dimension to every metric it emits. */
function customMetric(metricName: string, service: string, statistic: string): cloudwatch.Metric {
  return new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { service }, statistic, period: PERIOD });
}
