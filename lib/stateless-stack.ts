import { Aws, CfnOutput, Duration, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as lambdaEventSources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ses from 'aws-cdk-lib/aws-ses';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { CONFIG_STREAM, EVENT_SOURCES, FUNCTIONS, QUEUES, SCHEDULE, type QueueDefinition } from './definitions';
import { Monitoring } from './constructs/monitoring';
import { ResponderFunction } from './constructs/responder-function';

export interface StatelessStackProps extends StackProps {
  key: kms.IKey;
  configTable: dynamodb.ITable;
  ledgerTable: dynamodb.ITable;
  slackSecret: secretsmanager.ISecret;
  /** SES "From" address of notification e-mails; must be verified in SES, or be on a verified domain. */
  senderEmail: string;
  alarmEmail?: string;
  /**
   * Reserve one concurrent execution for the poller. Off by default: reserving any concurrency
   * fails the deploy on accounts whose quota is at its minimum (new accounts: 10), and the ledger
   * lease already keeps one poll at a time.
   */
  pollerReservedConcurrency?: boolean;
}

export interface QueueWithDeadLetters {
  queue: sqs.Queue;
  deadLetterQueue: sqs.Queue;
}

/**
 * The pipeline: schedule → poller → anomalies queue → respond → notifications queue → notify,
 * and the alarms on it. Holds no data a redeploy could lose: messages live for days at most.
 */
export class StatelessStack extends Stack {
  readonly anomalies: QueueWithDeadLetters;
  readonly notifications: QueueWithDeadLetters;
  readonly poller: ResponderFunction;
  readonly respond: ResponderFunction;
  readonly notify: ResponderFunction;
  /** Records every change to the config table (its stream) and tells the security admins. */
  readonly configChanges: ResponderFunction;
  /** Stream records config-changes could not record after its retries (their position in the stream, for a replay). */
  readonly configChangesDeadLetters: sqs.Queue;
  readonly monitoring: Monitoring;

  constructor(scope: Construct, id: string, props: StatelessStackProps) {
    super(scope, id, props);
    const { key, configTable } = props;

    // The functions only touch ledger items; its GSIs (the response log by person and by day) are
    // for operators. Granting through a view without the indexes keeps `index/*` out of the roles.
    const ledgerItems = dynamodb.Table.fromTableAttributes(this, 'LedgerItems', {
      tableArn: props.ledgerTable.tableArn,
      encryptionKey: key,
    });
    // Secret.grantRead on the stateful secret would add each role to the key policy (kms:ViaService):
    // a reference from the stateful stack back to this one, a dependency cycle. So grant the
    // secret's own actions through a key-less view, and decryption as a plain key grant.
    const slackSecret = secretsmanager.Secret.fromSecretAttributes(this, 'SlackSecret', {
      secretCompleteArn: props.slackSecret.secretArn,
    });
    const grantCommon = (fn: ResponderFunction) => {
      ledgerItems.grantReadWriteData(fn.role);
      slackSecret.grantRead(fn.role);
      key.grantDecrypt(fn.role);
      Validations.of(fn.role).acknowledge(
        ...['kms:GenerateDataKey*', 'kms:ReEncrypt*'].map((action) => ({
          id: `AwsSolutions-IAM5[Action::${action}]`,
          reason: `${action} comes with the CDK grants on the KMS-encrypted ledger table and queues (SSE data keys); it applies to the project key only.`,
        })),
      );
    };

    this.anomalies = this.queueWithDeadLetters('Anomalies', QUEUES.anomalies, key);
    this.notifications = this.queueWithDeadLetters('Notifications', QUEUES.notifications, key);

    const common = {
      CONFIG_TABLE_NAME: configTable.tableName,
      LEDGER_TABLE_NAME: props.ledgerTable.tableName,
      SLACK_SECRET_ID: props.slackSecret.secretArn,
    };

    this.poller = new ResponderFunction(this, 'Poller', {
      definition: FUNCTIONS.pollAuditLogs,
      environment: { ...common, ANOMALIES_QUEUE_URL: this.anomalies.queue.queueUrl },
      // Two polls at once would race on the checkpoint: the poller takes a lease in the ledger
      // (an invocation that finds it held does not poll). Reserved concurrency only if asked for.
      ...(props.pollerReservedConcurrency ? { reservedConcurrentExecutions: 1 } : {}),
    });
    // The scheduler invokes asynchronously. A failed or throttled run is not worth retrying
    // later: the next scheduled run, a minute on, resumes from the checkpoint.
    this.poller.function.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.seconds(60) });
    grantCommon(this.poller);
    this.anomalies.queue.grantSendMessages(this.poller.role);
    // trustedNetworks.syncToSlack: the poller keeps Slack's anomaly allow-list equal to the config.
    configTable.grantReadData(this.poller.role);

    this.respond = new ResponderFunction(this, 'Respond', {
      definition: FUNCTIONS.respond,
      environment: {
        ...common,
        ANOMALIES_QUEUE_URL: this.anomalies.queue.queueUrl,
        NOTIFICATIONS_QUEUE_URL: this.notifications.queue.queueUrl,
      },
    });
    grantCommon(this.respond);
    configTable.grantReadData(this.respond.role);
    this.notifications.queue.grantSendMessages(this.respond.role);
    // The event source grants consuming, which includes ChangeMessageVisibility: respond and
    // notify use it to give a message back with a delay when Slack answers 429.
    this.respond.function.addEventSource(sqsEventSource(this.anomalies.queue, EVENT_SOURCES.respond));

    this.notify = new ResponderFunction(this, 'Notify', {
      definition: FUNCTIONS.notify,
      environment: { ...common, NOTIFICATIONS_QUEUE_URL: this.notifications.queue.queueUrl, SENDER_EMAIL: props.senderEmail },
    });
    grantCommon(this.notify);
    configTable.grantReadData(this.notify.role);
    this.notify.function.addEventSource(sqsEventSource(this.notifications.queue, EVENT_SOURCES.notify));
    // SES authorizes a send against the address identity if the address itself is verified, else
    // against its domain's identity: grant both, so either way of verifying works, and no other sender.
    const senderDomain = props.senderEmail.split('@')[1];
    ses.EmailIdentity.fromEmailIdentityName(this, 'SenderAddress', props.senderEmail).grantSendEmail(this.notify.role);
    ses.EmailIdentity.fromEmailIdentityName(this, 'SenderDomain', senderDomain).grantSendEmail(this.notify.role);

    ({ fn: this.configChanges, deadLetters: this.configChangesDeadLetters } = this.configChangeRecorder(
      configTable,
      ledgerItems,
      key,
      props.ledgerTable.tableName,
    ));

    this.schedulePoller(this.poller.function);

    this.monitoring = new Monitoring(this, 'Monitoring', {
      key,
      poller: this.poller,
      respond: this.respond,
      notify: this.notify,
      configChanges: this.configChanges,
      configChangesDeadLetters: this.configChangesDeadLetters,
      queues: [
        { name: 'Anomalies', ...this.anomalies },
        { name: 'Notifications', ...this.notifications },
      ],
      alarmEmail: props.alarmEmail,
    });
  }

  /**
   * config-changes: the config table's stream → the response log and a config_changed
   * notification. It reads no config and no Slack token: its grants are the stream, the ledger's
   * items, sending to the notifications queue and its own dead-letter queue.
   */
  private configChangeRecorder(
    configTable: dynamodb.ITable,
    ledgerItems: dynamodb.ITable,
    key: kms.IKey,
    ledgerTableName: string,
  ): { fn: ResponderFunction; deadLetters: sqs.Queue } {
    const fn = new ResponderFunction(this, 'ConfigChanges', {
      definition: FUNCTIONS.configChanges,
      environment: { LEDGER_TABLE_NAME: ledgerTableName, NOTIFICATIONS_QUEUE_URL: this.notifications.queue.queueUrl },
    });
    ledgerItems.grantReadWriteData(fn.role);
    this.notifications.queue.grantSendMessages(fn.role);
    const deadLetters = new sqs.Queue(this, 'ConfigChangesDeadLetters', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: key,
      enforceSSL: true,
      retentionPeriod: Duration.seconds(QUEUES.notifications.deadLetterRetentionSeconds),
    });
    Validations.of(deadLetters).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is the on-failure destination of the config table\u2019s stream: a dead-letter queue itself, which nag cannot see through an event source mapping.',
    });
    new CfnOutput(this, 'ConfigChangesDeadLetterQueueArn', { value: deadLetters.queueArn });
    fn.function.addEventSource(
      new lambdaEventSources.DynamoEventSource(configTable, {
        startingPosition: lambda.StartingPosition.TRIM_HORIZON,
        batchSize: CONFIG_STREAM.batchSize,
        maxBatchingWindow: Duration.seconds(CONFIG_STREAM.maxBatchingWindowSeconds),
        bisectBatchOnError: true,
        retryAttempts: CONFIG_STREAM.retryAttempts,
        maxRecordAge: Duration.hours(CONFIG_STREAM.maxRecordAgeHours),
        reportBatchItemFailures: true,
        onFailure: new lambdaEventSources.SqsDlq(deadLetters),
      }),
    );
    Validations.of(fn.role).acknowledge(
      ...['kms:GenerateDataKey*', 'kms:ReEncrypt*'].map((action) => ({
        id: `AwsSolutions-IAM5[Action::${action}]`,
        reason: `${action} comes with the CDK grants on the KMS-encrypted ledger table and queues (SSE data keys); it applies to the project key only.`,
      })),
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'dynamodb:ListStreams takes no resource (it lists stream ARNs, no data); the DynamoDB event source needs it. Reading records is granted on the config table’s stream only.',
      },
    );
    return { fn, deadLetters };
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
  queue: sqs.IQueue,
  settings: { batchSize: number; maxBatchingWindowSeconds: number; maxConcurrency: number },
): lambdaEventSources.SqsEventSource {
  return new lambdaEventSources.SqsEventSource(queue, {
    batchSize: settings.batchSize,
    maxBatchingWindow: Duration.seconds(settings.maxBatchingWindowSeconds),
    maxConcurrency: settings.maxConcurrency,
    reportBatchItemFailures: true,
  });
}
