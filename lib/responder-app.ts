import { Annotations, type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { StatefulStack } from './stateful-stack';
import { StatelessStack } from './stateless-stack';
import { alertsSchema, type AlertSettings } from '../functions/domain/config/schema';
import { formatIssues } from '../functions/domain/validation';

/** Lets `cdk synth` run with no context; deploying with it would send e-mail from nowhere real. */
export const PLACEHOLDER_SENDER_EMAIL = 'alerts@example.com';

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

export interface ResponderApp {
  stateful: StatefulStack;
  stateless: StatelessStack;
}

/**
 * The whole deployment: a stateful stack (key, tables, secret) and a stateless stack (queues,
 * functions, schedule, alarms) that receives the stateful resources as props.
 * Context: `senderEmail` (required to deploy), `alarmEmail` (optional alarm subscription),
 * `pollerReservedConcurrency` (optional, `true`: reserve one concurrent execution for the poller,
 * on accounts whose Lambda concurrency quota leaves room; the ledger lease keeps one poll at a
 * time either way), and the alert settings `orgName`, `senderName`, `replyTo`, `securityContact`
 * (optional; the config table's `alerts` item overrides them without a deploy).
 * cdk-nag's AwsSolutions checks run on every synth and fail it on any unacknowledged error.
 */
export function defineResponderApp(app: App): ResponderApp {
  const senderEmail = emailContext(app, 'senderEmail') ?? PLACEHOLDER_SENDER_EMAIL;
  const alarmEmail = emailContext(app, 'alarmEmail');
  const pollerReservedConcurrency = booleanContext(app, 'pollerReservedConcurrency');
  const alerts = alertContext(app);

  const stateful = new StatefulStack(app, 'SlackAnomalyResponderStateful', {
    description: 'slack-anomaly-responder: encryption key, config and ledger tables, one secret per Slack token',
  });
  const stateless = new StatelessStack(app, 'SlackAnomalyResponder', {
    description: 'slack-anomaly-responder: audit-log poller, responder, notifier, queues, schedule and alarms',
    key: stateful.key,
    configTable: stateful.configTable,
    ledgerTable: stateful.ledgerTable,
    tokenSecrets: stateful.tokenSecrets,
    senderEmail,
    alarmEmail,
    pollerReservedConcurrency,
    alerts,
  });

  if (senderEmail === PLACEHOLDER_SENDER_EMAIL) {
    Annotations.of(stateless).addWarningV2(
      'slack-anomaly-responder:placeholderSenderEmail',
      `No senderEmail context: notification e-mails would be sent from ${PLACEHOLDER_SENDER_EMAIL}, which SES will refuse. ` +
        'Deploy with -c senderEmail=<an address or an address on a domain verified in SES>.',
    );
  }

  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { stateful, stateless };
}

function emailContext(app: App, key: string): string | undefined {
  const value: unknown = app.node.tryGetContext(key);
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !EMAIL.test(value)) {
    throw new Error(`Context ${key} must be an e-mail address, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** The alert settings given as context, validated as the config item is (a bad one fails the synth, naming it). */
function alertContext(app: App): AlertSettings {
  const raw: Record<string, unknown> = {};
  for (const key of ['orgName', 'senderName', 'replyTo', 'securityContact'] as const) {
    const value: unknown = app.node.tryGetContext(key);
    if (value !== undefined && value !== '') raw[key] = value;
  }
  const parsed = alertsSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`Context: ${formatIssues(parsed.error).join('; ')}`);
  return parsed.data;
}

function booleanContext(app: App, key: string): boolean {
  const value: unknown = app.node.tryGetContext(key);
  if (value === undefined || value === '' || value === false || value === 'false') return false;
  if (value === true || value === 'true') return true;
  throw new Error(`Context ${key} must be true or false, got ${JSON.stringify(value)}`);
}
