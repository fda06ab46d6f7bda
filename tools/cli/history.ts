import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DecisionLog, type DecisionRecord } from '../../functions/adapters/dynamodb/decision-log';
import type { FieldChange } from '../../functions/domain/config-change';
import { parseCommandLine } from '../shared/cli';
import { readLocalState } from '../shared/local-state';
import { LOCAL_CREDENTIALS } from '../local/aws/emulators';
import { responseDetails } from '../shared/response-facts';

const USAGE = `Usage: npm run history -- (--user USER_ID | --day YYYY-MM-DD | --config-changes [--since YYYY-MM-DD]) [--table NAME] [--endpoint URL] [--local] [--json]

The response log: every decision the responder made about one person, or on one UTC day;
or every change to the response configuration (the config table), oldest first.
  --user      a Slack user ID (U… or W…)
  --day       a UTC day, e.g. 2026-11-24
  --config-changes  changes to the config table: item, before → after, when, who (when known)
  --since     with --config-changes: from this UTC day (default: 30 days ago) to today
  --table     ledger table name (default: $LEDGER_TABLE_NAME; the stack output LedgerTableName)
  --endpoint  DynamoDB endpoint override (default: $AWS_ENDPOINT_URL_DYNAMODB)
  --local     query the running local mode (\`npm start\`): its DynamoDB Local and ledger table
  --limit     at most this many decisions (default 200)
  --json      one JSON object per line instead of a table`;

export async function main(argv: string[], print: (line: string) => void = console.log): Promise<number> {
  const parsed = parseCommandLine(
    argv,
    {
      user: { type: 'string' },
      day: { type: 'string' },
      'config-changes': { type: 'boolean', default: false },
      since: { type: 'string' },
      table: { type: 'string' },
      endpoint: { type: 'string' },
      local: { type: 'boolean', default: false },
      limit: { type: 'string', default: '200' },
      json: { type: 'boolean', default: false },
    },
    USAGE,
    print,
  );
  if (!parsed.values) return parsed.exitCode;
  const args = parsed.values;
  const configChanges = args['config-changes'] === true;
  if (configChanges) {
    if (args.user || args.day || (args.since && !isUtcDay(args.since))) {
      console.error(`--config-changes takes --since YYYY-MM-DD, not --user or --day.\n\n${USAGE}`);
      return 2;
    }
  } else if (args.since) {
    console.error(`--since goes with --config-changes.\n\n${USAGE}`);
    return 2;
  } else if (!args.user === !args.day) {
    console.error(`Give either --user with a Slack user ID or --day as YYYY-MM-DD.\n\n${USAGE}`);
    return 2;
  }
  if (args.user && !/^[UW][A-Z0-9]{2,}$/.test(args.user)) {
    console.error(`--user ${args.user}: not a Slack user ID (U… or W…, capitals and digits)`);
    return 2;
  }
  if (args.day && !isUtcDay(args.day)) {
    console.error(`--day ${args.day}: not a calendar day as YYYY-MM-DD (e.g. 2026-11-24)`);
    return 2;
  }
  const limit = Number(args.limit);
  if (!Number.isInteger(limit) || limit < 1) {
    console.error(`--limit ${args.limit}: a whole number of at least 1`);
    return 2;
  }
  let local: { endpoint: string; table: string; region: string } | undefined;
  if (args.local) {
    if (args.table || args.endpoint) {
      console.error('--local finds the table and endpoint itself: leave out --table and --endpoint');
      return 2;
    }
    const found = readLocalState();
    if ('error' in found) {
      console.error(`history: ${found.error}`);
      return 1;
    }
    local = { endpoint: found.state.dynamodbEndpoint, table: found.state.ledgerTable, region: found.state.region };
  }
  const table = local?.table ?? args.table ?? process.env.LEDGER_TABLE_NAME;
  if (!table) {
    console.error('No ledger table: pass --table NAME (the stack output LedgerTableName) or set LEDGER_TABLE_NAME.');
    return 2;
  }
  const endpoint = local?.endpoint ?? args.endpoint ?? process.env.AWS_ENDPOINT_URL_DYNAMODB;
  const db = DynamoDBDocumentClient.from(
    new DynamoDBClient(local ? { endpoint, region: local.region, credentials: LOCAL_CREDENTIALS, maxAttempts: 2 } : endpoint ? { endpoint } : {}),
  );
  try {
    const ledger = new DecisionLog(db, table);
    if (configChanges) {
      const changes: DecisionRecord[] = [];
      for (const day of daysFrom(args.since ?? isoDay(Date.now() - 30 * 86_400_000), isoDay(Date.now()))) changes.push(...(await ledger.configChangesOnDay(day)));
      const shown = changes.slice(-limit);
      if (args.json) shown.forEach((d) => print(JSON.stringify(d)));
      else for (const line of formatConfigChanges(shown)) print(line);
      return 0;
    }
    const decisions = args.user ? await ledger.decisionsForUser(args.user, limit) : await ledger.decisionsOnDay(args.day!, limit);
    if (args.json) decisions.forEach((d) => print(JSON.stringify(d)));
    else for (const line of formatTable(decisions)) print(line);
    return 0;
  } catch (error) {
    console.error(`history: ${explain(error, table, endpoint)}`);
    return 1;
  } finally {
    db.destroy();
  }
}

/** A real day of the calendar, not just the shape (2026-02-30 is refused). */
export function isUtcDay(day: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!match) return false;
  const date = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
  return date.toISOString().slice(0, 10) === day;
}

/** One line saying what went wrong and what to check, instead of an SDK stack. */
function explain(error: unknown, table: string, endpoint: string | undefined): string {
  const e = error as { name?: string; message?: string; code?: string; cause?: { code?: string } };
  const where = endpoint ? ` at ${endpoint}` : '';
  if (e.name === 'ResourceNotFoundException') return `no table ${table}${where} (pass --table with the stack output LedgerTableName, or --local)`;
  if (e.name === 'CredentialsProviderError') return 'no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or use --local)';
  if (e.name === 'AccessDeniedException' || e.name === 'UnrecognizedClientException') return `${e.name}: the credentials may not read ${table} (${e.message ?? ''})`;
  const code = e.code ?? e.cause?.code;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || e.name === 'TimeoutError') return `cannot reach DynamoDB${where} (${code ?? e.name})`;
  return `${e.name ?? 'Error'}: ${(e.message ?? String(error)).split('\n')[0]}`;
}

function formatTable(decisions: DecisionRecord[]): string[] {
  if (decisions.length === 0) return ['No decisions found.'];
  const rows = decisions.map((d) => [
    d.decidedAt ?? '',
    d.userId ?? d.entityType ?? '-',
    [...(d.events ?? []), ...(d.otherReasons ?? [])].join('+') || '-',
    `${d.decision ?? ''} (${d.reason ?? ''})`,
    [d.outcome ?? '', ...responseDetails(d).map((detail) => `[${detail}]`)].join(' '),
    d.entryId,
  ]);
  const header = ['decided at', 'user', 'reasons', 'decision', 'outcome', 'audit entry'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [header, ...rows].map((row) => row.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd());
}

/** One block per change: when, item and kind, who, each field before → after, and the warnings. */
function formatConfigChanges(records: DecisionRecord[]): string[] {
  if (records.length === 0) return ['No config changes found.'];
  return records.flatMap((record) => {
    const change = (record.configChange ?? {}) as { itemId?: string; kind?: string; changedBy?: string; changes?: FieldChange[]; warnings?: string[] };
    const when = record.occurredAt ? new Date(record.occurredAt * 1000).toISOString() : (record.decidedAt ?? '');
    return [
      `${when}  ${change.itemId ?? '(unreadable)'} ${change.kind ?? record.outcome ?? ''}  by ${change.changedBy ?? 'unknown (see CloudTrail data events on the config table)'}`,
      ...(change.changes ?? []).map((c) => `    ${c.field}: ${c.before ?? '(none)'} \u2192 ${c.after ?? '(none)'}`),
      ...(change.warnings ?? []).map((warning) => `    WARNING ${warning}`),
      ...(record.decision === 'rejected' ? [`    unreadable stream record: ${record.detail ?? ''}`] : []),
      `    (${record.entryId})`,
    ];
  });
}

function isoDay(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}

/** Every UTC day from `first` to `last`, inclusive. */
function daysFrom(first: string, last: string): string[] {
  const days: string[] = [];
  for (let t = Date.parse(`${first}T00:00:00Z`); isoDay(t) <= last; t += 86_400_000) days.push(isoDay(t));
  return days;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`history: ${(error as Error).message}`);
      process.exit(1);
    },
  );
}
