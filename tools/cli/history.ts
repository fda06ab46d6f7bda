import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DecisionLog, type DecisionRecord } from '../../functions/adapters/dynamodb/decision-log';
import { parseCommandLine } from '../shared/cli';
import { responseDetails } from '../shared/response-facts';

const USAGE = `Usage: npm run history -- (--user USER_ID | --day YYYY-MM-DD) [--table NAME] [--endpoint URL] [--json]

The response log: every decision the responder made about one person, or on one UTC day.
  --user      a Slack user ID (U… or W…)
  --day       a UTC day, e.g. 2026-11-24
  --table     ledger table name (default: $LEDGER_TABLE_NAME; the stack output LedgerTableName)
  --endpoint  DynamoDB endpoint override (default: $AWS_ENDPOINT_URL_DYNAMODB)
  --limit     at most this many decisions (default 200)
  --json      one JSON object per line instead of a table`;

export async function main(argv: string[], print: (line: string) => void = console.log): Promise<number> {
  const parsed = parseCommandLine(
    argv,
    {
      user: { type: 'string' },
      day: { type: 'string' },
      table: { type: 'string' },
      endpoint: { type: 'string' },
      limit: { type: 'string', default: '200' },
      json: { type: 'boolean', default: false },
    },
    USAGE,
    print,
  );
  if (!parsed.values) return parsed.exitCode;
  const args = parsed.values;
  if (!args.user === !args.day || (args.day && !/^\d{4}-\d{2}-\d{2}$/.test(args.day)) || (args.user && !/^[UW][A-Z0-9]{2,}$/.test(args.user))) {
    console.error(`Give either --user with a Slack user ID or --day as YYYY-MM-DD.\n\n${USAGE}`);
    return 2;
  }
  const table = args.table ?? process.env.LEDGER_TABLE_NAME;
  if (!table) {
    console.error('No ledger table: pass --table NAME (the stack output LedgerTableName) or set LEDGER_TABLE_NAME.');
    return 2;
  }
  const endpoint = args.endpoint ?? process.env.AWS_ENDPOINT_URL_DYNAMODB;
  const db = DynamoDBDocumentClient.from(new DynamoDBClient(endpoint ? { endpoint } : {}));
  try {
    const ledger = new DecisionLog(db, table);
    const limit = Number(args.limit);
    const decisions = args.user ? await ledger.decisionsForUser(args.user, limit) : await ledger.decisionsOnDay(args.day!, limit);
    if (args.json) decisions.forEach((d) => print(JSON.stringify(d)));
    else for (const line of formatTable(decisions)) print(line);
    return 0;
  } finally {
    db.destroy();
  }
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

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
