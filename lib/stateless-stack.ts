import { Aws, CfnOutput, Duration, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as lambdaEventSources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { TokenName } from '../functions/adapters/slack/errors';
import { LEDGER_RECORDS, ledgerPartitionsOf, type LedgerWriter } from '../functions/adapters/dynamodb/keys';
import { EVENT_SOURCES, FUNCTIONS, QUEUES, SCHEDULE, type QueueDefinition } from './definitions';
import { Monitoring } from './constructs/monitoring';
import { ResponderFunction } from './constructs/responder-function';
import type { AlertSettings } from '../functions/domain/config/schema';

export interface StatelessStackProps extends StackProps {
  key: kms.IKey;
  configTable: dynamodb.ITable;
  ledgerTable: dynamodb.ITable;
  /** One secret per Slack token; each function's role may read only the ones it uses. */
  tokenSecrets: Record<TokenName, secretsmanager.ISecret>;
  /** SES "From" address of notification e-mails; must be verified in SES, or be on a verified domain. */
  senderEmail: string;
  alarmEmail?: string;
  /**
   * Reserve one concurrent execution for the poller. Off by default: reserving any concurrency
   * fails the deploy on accounts whose quota is at its minimum (new accounts: 10), and the ledger
   * lease already keeps one poll at a time.
   */
  pollerReservedConcurrency?: boolean;
  /** Alert settings from the context (org name, sender name, reply-to, security contact). */
  alerts?: AlertSettings;
}

export interface QueueWithDeadLetters {
  queue: sqs.Queue;
  deadLetterQueue: sqs.Queue;
}

/**
 * Item-level actions on the ledger. Each role gets them on its own records only (a
 * `dynamodb:LeadingKeys` condition over the partition keys keys.ts gives its records); no
 * Scan, Query, index or stream access: no function lists the ledger.
 */
export const LEDGER_ITEM_ACTIONS = [
  'dynamodb:BatchGetItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:DeleteItem',
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
];

/**
 * The pipeline: schedule → poller → anomalies queue → respond → notifications queue → notify,
 * and the alarms on it. Holds no data a redeploy could lose: messages live for days at most.
 *
 * Every permission a function has is written out here, one statement per purpose, rather than
 * taken from the CDK's grant helpers: those add key actions the functions never use
 * (kms:Encrypt, kms:ReEncrypt*) and whole-table access. test/infra/permissions.test.ts holds the
 * exact list of each role.
 */
export class StatelessStack extends Stack {
  readonly anomalies: QueueWithDeadLetters;
  readonly notifications: QueueWithDeadLetters;
  readonly poller: ResponderFunction;
  readonly respond: ResponderFunction;
  readonly notify: ResponderFunction;
  readonly monitoring: Monitoring;

  constructor(scope: Construct, id: string, props: StatelessStackProps) {
    super(scope, id, props);
    const { key, configTable, ledgerTable, tokenSecrets } = props;
    const via = (...services: string[]) => ({ StringEquals: { 'kms:ViaService': services.map((service) => `${service}.${Aws.REGION}.amazonaws.com`) } });

    /** What every function needs: its ledger records, its tokens, and the key to read them and its queue. */
    const grantCommon = (fn: ResponderFunction, writer: LedgerWriter, tokens: TokenName[]) => {
      fn.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'OwnLedgerRecords',
          actions: LEDGER_ITEM_ACTIONS,
          resources: [ledgerTable.tableArn],
          conditions: {
            'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ledgerPartitionsOf(writer) },
            // ForAllValues holds on a request with no key at all: require one.
            Null: { 'dynamodb:LeadingKeys': 'false' },
          },
        }),
      );
      fn.role.addToPrincipalPolicy(
        new iam.PolicyStatement({ sid: 'OwnSlackTokens', actions: ['secretsmanager:GetSecretValue'], resources: tokens.map((name) => tokenSecrets[name].secretArn) }),
      );
      // The tables, the secrets and the queue it reads are encrypted with the project key:
      // decryption through those services only, never a direct call.
      fn.role.addToPrincipalPolicy(
        new iam.PolicyStatement({ sid: 'DecryptThroughServices', actions: ['kms:Decrypt'], resources: [key.keyArn], conditions: via('dynamodb', 'secretsmanager', 'sqs') }),
      );
    };
    /** SendMessage to a KMS-encrypted queue: SQS asks for a data key in the sender's name. */
    const grantSend = (fn: ResponderFunction, ...queues: sqs.IQueue[]) => {
      fn.role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'SendToQueue', actions: ['sqs:SendMessage'], resources: queues.map((queue) => queue.queueArn) }));
      fn.role.addToPrincipalPolicy(
        new iam.PolicyStatement({ sid: 'QueueDataKeys', actions: ['kms:GenerateDataKey'], resources: [key.keyArn], conditions: via('sqs') }),
      );
    };
    /** The config table is read whole (a handful of items, one Scan) and never written. */
    const grantConfigRead = (fn: ResponderFunction) => {
      fn.role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'ReadConfig', actions: ['dynamodb:Scan'], resources: [configTable.tableArn] }));
    };

    this.anomalies = this.queueWithDeadLetters('Anomalies', QUEUES.anomalies, key);
    this.notifications = this.queueWithDeadLetters('Notifications', QUEUES.notifications, key);

    const common = {
      CONFIG_TABLE_NAME: configTable.tableName,
      LEDGER_TABLE_NAME: ledgerTable.tableName,
    };

    this.poller = new ResponderFunction(this, 'Poller', {
      definition: FUNCTIONS.pollAuditLogs,
      environment: {
        ...common,
        SLACK_AUDIT_TOKEN_SECRET_ID: tokenSecrets.audit.secretArn,
        SLACK_ADMIN_TOKEN_SECRET_ID: tokenSecrets.admin.secretArn,
        ANOMALIES_QUEUE_URL: this.anomalies.queue.queueUrl,
      },
      logKey: key,
      // Two polls at once would race on the checkpoint: the poller takes a lease in the ledger
      // (an invocation that finds it held does not poll). Reserved concurrency only if asked for.
      ...(props.pollerReservedConcurrency ? { reservedConcurrentExecutions: 1 } : {}),
    });
    // The scheduler invokes asynchronously. A failed or throttled run is not worth retrying
    // later: the next scheduled run, a minute on, resumes from the checkpoint.
    this.poller.function.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.seconds(60) });
    // audit: the audit log; admin: Slack's anomaly allow-list (trustedNetworks.syncToSlack).
    grantCommon(this.poller, 'poll-audit-logs', ['audit', 'admin']);
    grantSend(this.poller, this.anomalies.queue);
    // trustedNetworks.syncToSlack: the poller keeps Slack's anomaly allow-list equal to the config;
    // it also reads the config to enqueue the entries that may end sessions ahead of the rest of a page.
    grantConfigRead(this.poller);

    this.respond = new ResponderFunction(this, 'Respond', {
      definition: FUNCTIONS.respond,
      environment: {
        ...common,
        SLACK_ADMIN_TOKEN_SECRET_ID: tokenSecrets.admin.secretArn,
        ANOMALIES_QUEUE_URL: this.anomalies.queue.queueUrl,
        NOTIFICATIONS_QUEUE_URL: this.notifications.queue.queueUrl,
      },
      logKey: key,
    });
    grantCommon(this.respond, 'respond', ['admin']);
    grantConfigRead(this.respond);
    // Its own queue too: a message waiting for Slack's budget is sent again with a delay (not
    // handed back, which would count as a receive toward maxReceiveCount).
    grantSend(this.respond, this.notifications.queue, this.anomalies.queue);
    // The event source grants consuming, which includes ChangeMessageVisibility: respond and
    // notify use it to give a message back with a delay when Slack answers 429.
    this.respond.function.addEventSource(sqsEventSource(this, this.anomalies.queue, EVENT_SOURCES.respond));

    this.notify = new ResponderFunction(this, 'Notify', {
      definition: FUNCTIONS.notify,
      environment: {
        ...common,
        SLACK_DIRECTORY_TOKEN_SECRET_ID: tokenSecrets.directory.secretArn,
        SLACK_BOT_TOKEN_SECRET_ID: tokenSecrets.bot.secretArn,
        NOTIFICATIONS_QUEUE_URL: this.notifications.queue.queueUrl,
        SENDER_EMAIL: props.senderEmail,
        ...alertEnvironment(props.alerts ?? {}),
      },
      logKey: key,
    });
    // Not the audit token, nor the admin token that ends sessions: notify renders text an attacker influences.
    grantCommon(this.notify, 'notify', ['directory', 'bot']);
    grantConfigRead(this.notify);
    // Its own queue: a notification waiting for Slack's budget is sent again with a delay (not
    // counted as a receive), and a burst's digest waits there until its period is over.
    grantSend(this.notify, this.notifications.queue);
    // A digest's people are read back with one Query on the digest's own partition (pk equality,
    // no index): notify only, and only on its digest partitions, not its other records.
    this.notify.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'QueryOwnDigests',
        actions: ['dynamodb:Query'],
        resources: [ledgerTable.tableArn],
        conditions: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [LEDGER_RECORDS.digestMember.partition] },
          Null: { 'dynamodb:LeadingKeys': 'false' },
        },
      }),
    );
    this.notify.function.addEventSource(sqsEventSource(this, this.notifications.queue, EVENT_SOURCES.notify));
    // SES authorizes a send against the address identity if the address itself is verified, else
    // against its domain's identity: allow both, so either way of verifying works, and only with
    // the configured sender as From (a verified domain would otherwise let it send as anyone@domain).
    const senderDomain = props.senderEmail.split('@')[1];
    const identityArn = (identity: string) => this.formatArn({ service: 'ses', resource: 'identity', resourceName: identity });
    this.notify.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'SendAsTheSender',
        actions: ['ses:SendEmail'],
        resources: [identityArn(props.senderEmail), identityArn(senderDomain)],
        conditions: { StringEquals: { 'ses:FromAddress': props.senderEmail } },
      }),
    );

    this.schedulePoller(this.poller.function);

    this.monitoring = new Monitoring(this, 'Monitoring', {
      key,
      poller: this.poller,
      respond: this.respond,
      notify: this.notify,
      queues: [
        { name: 'Anomalies', ...this.anomalies },
        { name: 'Notifications', ...this.notifications },
      ],
      alarmEmail: props.alarmEmail,
    });
  }

  private schedulePoller(poller: lambda.Function): void {
    // Our own role rather than the one the target would make per stack, so the acknowledgement sits on it.
    const role = new iam.Role(this, 'PollScheduleRole', {
      description: 'Lets EventBridge Scheduler invoke the audit-log poller',
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
      }),
    });
    new scheduler.Schedule(this, 'PollSchedule', {
      description: 'Runs the Slack audit-log poller',
      schedule: scheduler.ScheduleExpression.rate(Duration.minutes(SCHEDULE.pollEveryMinutes)),
      target: new schedulerTargets.LambdaInvoke(poller, {
        role,
        // A missed run is made up by the next one; retrying for long would only pile runs up.
        retryAttempts: 2,
        maxEventAge: Duration.minutes(1),
      }),
    });
    const pollerLogicalId = this.getLogicalId(poller.node.defaultChild as lambda.CfnFunction);
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${pollerLogicalId}.Arn>:*]`,
      reason: 'LambdaInvoke grants invoke on the poller function and its versions (arn:*); the role can invoke nothing else.',
    });
  }

  private queueWithDeadLetters(id: string, definition: QueueDefinition, key: kms.IKey): QueueWithDeadLetters {
    const encryption = { encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: key, enforceSSL: true };
    const deadLetterQueue = new sqs.Queue(this, `${id}DeadLetters`, {
      ...encryption,
      retentionPeriod: Duration.seconds(definition.deadLetterRetentionSeconds),
    });
    const queue = new sqs.Queue(this, `${id}Queue`, {
      ...encryption,
      visibilityTimeout: Duration.seconds(definition.visibilityTimeoutSeconds),
      retentionPeriod: Duration.seconds(definition.retentionSeconds),
      deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: definition.maxReceiveCount },
    });
    // Operators need the dead-letter queue's ARN to redrive it (README: Operating it).
    new CfnOutput(this, `${id}DeadLetterQueueArn`, { value: deadLetterQueue.queueArn });
    return { queue, deadLetterQueue };
  }
}

function sqsEventSource(
  scope: Construct,
  queue: sqs.Queue,
  settings: { batchSize: number; maxBatchingWindowSeconds: number; maxConcurrency: number },
): lambdaEventSources.SqsEventSource {
  // Through a view of the queue without its key: the event source would otherwise grant
  // kms:Decrypt on the key with no condition; grantCommon allows it through SQS only.
  const keyless = sqs.Queue.fromQueueAttributes(scope, `${queue.node.id}Keyless`, { queueArn: queue.queueArn, queueUrl: queue.queueUrl, queueName: queue.queueName });
  return new lambdaEventSources.SqsEventSource(keyless, {
    batchSize: settings.batchSize,
    maxBatchingWindow: Duration.seconds(settings.maxBatchingWindowSeconds),
    maxConcurrency: settings.maxConcurrency,
    reportBatchItemFailures: true,
  });
}

/** Only the settings given: an unset one stays out of the function's environment. */
function alertEnvironment(alerts: AlertSettings): Record<string, string> {
  const env: Record<string, string | undefined> = {
    ALERT_ORG_NAME: alerts.orgName,
    ALERT_SENDER_NAME: alerts.senderName,
    ALERT_REPLY_TO: alerts.replyTo,
    ALERT_SECURITY_CONTACT: alerts.securityContact,
  };
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}
