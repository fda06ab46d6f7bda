import { resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ValidationError } from '../../functions/domain/errors';
import { parseCommandLine } from '../shared/cli';
import { readConfigFile, writeConfig } from '../shared/config-file';

const USAGE = `Usage: npm run seed -- [--file config/default-config.json] [--table NAME] [--endpoint URL] [--region REGION] [--dry-run]

Validates a response-configuration file and writes it to the config table, replacing what is there.
  --file      configuration file (default: config/default-config.json, Slack's defaults)
  --table     config table name (default: $CONFIG_TABLE_NAME; the stack output ConfigTableName)
  --endpoint  DynamoDB endpoint override, e.g. http://127.0.0.1:8000 (default: $AWS_ENDPOINT_URL_DYNAMODB)
  --region    AWS region (default: $AWS_REGION)
  --dry-run   validate only; write nothing
An invalid file prints each offending field and writes nothing (exit 1).`;

export async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(
    argv,
    {
      file: { type: 'string', default: 'config/default-config.json' },
      table: { type: 'string' },
      endpoint: { type: 'string' },
      region: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
    },
    USAGE,
  );
  if (!parsed.values) return parsed.exitCode;
  const args = parsed.values;

  const file = resolve(args.file!);
  let config;
  try {
    config = readConfigFile(file);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    console.error(`Invalid configuration in ${file}; nothing was written:`);
    for (const issue of error.issues) console.error(`  - ${issue}`);
    return 1;
  }
  if (args['dry-run']) {
    console.log(`${file} is a valid configuration (dry run: nothing written).`);
    return 0;
  }

  const table = args.table ?? process.env.CONFIG_TABLE_NAME;
  if (!table) {
    console.error('No config table: pass --table NAME (the stack output ConfigTableName) or set CONFIG_TABLE_NAME.');
    return 2;
  }
  const endpoint = args.endpoint ?? process.env.AWS_ENDPOINT_URL_DYNAMODB;
  const db = DynamoDBDocumentClient.from(new DynamoDBClient({ ...(endpoint ? { endpoint } : {}), ...(args.region ? { region: args.region } : {}) }), {
    marshallOptions: { removeUndefinedValues: true },
  });
  try {
    const { written, deleted } = await writeConfig(db, table, config);
    console.log(`Wrote ${written} configuration items to ${table}${deleted ? ` (removed ${deleted} stale)` : ''}.`);
    return 0;
  } catch (error) {
    console.error(`Could not write the configuration to ${table}: ${(error as Error).message}`);
    return 1;
  } finally {
    db.destroy();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
