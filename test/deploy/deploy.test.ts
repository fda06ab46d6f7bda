import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { createServer } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * Deploy smoke test: `cdk bootstrap` and `cdk deploy --all` against moto in server mode on
 * loopback, then read back that both stacks are CREATE_COMPLETE and that every function is
 * wired to the stateful stack's table names and its own token secrets (through the strong
 * cross-stack references: CloudFormation exports and Fn::ImportValue).
 *
 * What moto cannot do, said plainly (README: "Deploy smoke test"):
 * - test/deploy/moto_server.py adds three things moto 5.2.1 lacks: UpdateTerminationProtection,
 *   and AWS::SecretsManager::Secret and AWS::CloudWatch::Alarm as template resources;
 * - `--method=direct` (CreateStack instead of a change set): moto never registers the exports of
 *   a stack created through a change set, so the stateless stack would find none to import;
 * - moto skips some resource types entirely; the test lists them (MOTO_SKIPS) so a change shows;
 * - nothing here enforces IAM or runs the functions: permissions are test/infra's, behaviour
 *   test/integration's.
 * Skipped, saying so, where python3 with moto is absent.
 */
const ROOT = path.resolve(__dirname, '..', '..');
const CDK = path.join(ROOT, 'node_modules', '.bin', 'cdk');
const ACCOUNT = '123456789012';
const REGION = 'us-east-1';

const probe = spawnSync('python3', ['-c', 'import moto; print(moto.__version__)'], { encoding: 'utf8' });
const motoVersion = probe.status === 0 ? probe.stdout.trim() : undefined;
if (!motoVersion) console.warn('python3 with moto not found: test/deploy/deploy.test.ts is SKIPPED (pip install "moto[server]" to run it)');

/** Resource types moto 5.2.1 skips in these templates (it logs them); the deploy goes on without them. */
const MOTO_SKIPS = ['AWS::CDK::Metadata', 'AWS::Lambda::EventInvokeConfig', 'AWS::S3::BucketPolicy', 'AWS::SNS::TopicPolicy', 'AWS::SQS::QueuePolicy', 'AWS::Scheduler::Schedule'];

/** moto routes an unsigned request by the service its Authorization header names. */
const credentialFor = (service: string) => `AWS4-HMAC-SHA256 Credential=testing/20260101/${REGION}/${service}/aws4_request, SignedHeaders=host, Signature=0`;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): { status: number | null; output: string } {
  const result = spawnSync(command, args, { cwd: ROOT, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { status: result.status, output: `${result.stdout}\n${result.stderr}` };
}

(motoVersion ? describe : describe.skip)(`deploy to moto ${motoVersion ?? '(absent)'} in server mode`, () => {
  let moto: ChildProcess | undefined;
  let endpoint: string;
  let workdir: string;
  let serverLog = '';
  let env: NodeJS.ProcessEnv;
  const deployed: { bootstrap?: ReturnType<typeof run>; deploy?: ReturnType<typeof run> } = {};

  beforeAll(async () => {
    workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'sar-deploy-'));
    const port = await freePort();
    // `localhost`, not 127.0.0.1: the SDK then addresses S3 by path, which moto serves.
    endpoint = `http://localhost:${port}`;
    moto = spawn('python3', [path.join(__dirname, 'moto_server.py'), '-H', '127.0.0.1', '-p', String(port)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      // Unbuffered, so what moto says it skipped is in the log when the test reads it.
      env: { ...process.env, PYTHONUNBUFFERED: '1' },
    });
    moto.stdout!.on('data', (chunk) => (serverLog += chunk));
    moto.stderr!.on('data', (chunk) => (serverLog += chunk));
    for (let attempt = 0; ; attempt++) {
      const up = await fetch(`${endpoint}/moto-api/`).then((res) => res.ok).catch(() => false);
      if (up) break;
      if (attempt > 600 || moto.exitCode !== null) throw new Error(`moto did not start:\n${serverLog}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    env = {
      PATH: process.env.PATH,
      HOME: workdir,
      AWS_ENDPOINT_URL: endpoint,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_REGION: REGION,
      AWS_DEFAULT_REGION: REGION,
      CDK_DISABLE_VERSION_CHECK: '1',
      CI: 'true',
    };
    const out = path.join(workdir, 'cdk.out');
    const synth = run(CDK, ['synth', '--quiet', '--no-notices', '-c', 'senderEmail=security-alerts@corp.example', '-o', out], env);
    if (synth.status !== 0) throw new Error(`cdk synth failed:\n${synth.output}`);
    deployed.bootstrap = run(CDK, ['bootstrap', `aws://${ACCOUNT}/${REGION}`, '--app', out, '--no-notices'], env);
    deployed.deploy = run(CDK, ['deploy', '--all', '--app', out, '--method=direct', '--require-approval', 'never', '--no-notices'], env);
  }, 15 * 60_000);

  afterAll(async () => {
    if (moto && moto.exitCode === null) {
      const exited = new Promise((resolve) => moto!.once('exit', resolve));
      moto.kill('SIGTERM');
      await exited;
    }
    if (workdir) fs.rmSync(workdir, { recursive: true, force: true });
  });

  /** CloudFormation's query API (moto does not check signatures): one stack's status and outputs. */
  async function stack(name: string): Promise<{ status?: string; outputs: Record<string, string> }> {
    const body = new URLSearchParams({ Action: 'DescribeStacks', Version: '2010-05-15', StackName: name });
    const headers = { 'content-type': 'application/x-www-form-urlencoded', authorization: credentialFor('cloudformation') };
    const xml = await (await fetch(`${endpoint}/`, { method: 'POST', body, headers })).text();
    const outputs: Record<string, string> = {};
    for (const [, member] of xml.matchAll(/<member>((?:(?!<member>)[\s\S])*?<OutputKey>[\s\S]*?)<\/member>/g)) {
      const key = /<OutputKey>([^<]+)<\/OutputKey>/.exec(member)?.[1];
      const value = /<OutputValue>([^<]*)<\/OutputValue>/.exec(member)?.[1];
      if (key && value !== undefined) outputs[key] = value;
    }
    const status = /<StackStatus>([^<]+)<\/StackStatus>/.exec(xml)?.[1];
    if (!status) throw new Error(`DescribeStacks ${name}: ${xml.slice(0, 500)}`);
    return { status, outputs };
  }

  async function functions(): Promise<{ FunctionName: string; Environment?: { Variables?: Record<string, string> } }[]> {
    const res = await fetch(`${endpoint}/2015-03-31/functions/`, { headers: { authorization: credentialFor('lambda') } });
    return ((await res.json()) as { Functions: { FunctionName: string }[] }).Functions;
  }

  test('cdk bootstrap and cdk deploy --all succeed', () => {
    expect({ status: deployed.bootstrap?.status, tail: deployed.bootstrap?.status === 0 ? '' : deployed.bootstrap?.output.slice(-3000) }).toEqual({ status: 0, tail: '' });
    expect({ status: deployed.deploy?.status, tail: deployed.deploy?.status === 0 ? '' : deployed.deploy?.output.slice(-3000) }).toEqual({ status: 0, tail: '' });
  });

  test('both stacks are CREATE_COMPLETE', async () => {
    expect((await stack('SlackAnomalyResponderStateful')).status).toBe('CREATE_COMPLETE');
    expect((await stack('SlackAnomalyResponder')).status).toBe('CREATE_COMPLETE');
  });

  test('every function is wired to the stateful stack\u2019s tables and to its own token secrets only', async () => {
    const { outputs } = await stack('SlackAnomalyResponderStateful');
    const byService = (fragment: string) => {
      const fn = functionsFound.find((candidate) => candidate.FunctionName.includes(fragment));
      expect(fn).toBeDefined();
      return fn!.Environment?.Variables ?? {};
    };
    const functionsFound = await functions();
    expect(functionsFound).toHaveLength(4);
    const tables = { CONFIG_TABLE_NAME: outputs.ConfigTableName, LEDGER_TABLE_NAME: outputs.LedgerTableName };
    expect(Object.values(tables).every((name) => name?.startsWith('SlackAnomalyResponderStateful-'))).toBe(true);
    const secretIds = (variables: Record<string, string>) => Object.fromEntries(Object.entries(variables).filter(([name]) => name.endsWith('_SECRET_ID')));
    expect(byService('-PollerFunction')).toMatchObject(tables);
    // The admin token only for Slack's anomaly allow-list (trustedNetworks.syncToSlack).
    expect(secretIds(byService('-PollerFunction'))).toEqual({ SLACK_AUDIT_TOKEN_SECRET_ID: outputs.AuditTokenSecretArn, SLACK_ADMIN_TOKEN_SECRET_ID: outputs.AdminTokenSecretArn });
    expect(byService('-RespondFunction')).toMatchObject(tables);
    expect(secretIds(byService('-RespondFunction'))).toEqual({ SLACK_ADMIN_TOKEN_SECRET_ID: outputs.AdminTokenSecretArn });
    expect(byService('-NotifyFunction')).toMatchObject({ ...tables, SENDER_EMAIL: 'security-alerts@corp.example' });
    expect(secretIds(byService('-NotifyFunction'))).toEqual({ SLACK_DIRECTORY_TOKEN_SECRET_ID: outputs.DirectoryTokenSecretArn, SLACK_BOT_TOKEN_SECRET_ID: outputs.BotTokenSecretArn });
    // config-changes: the ledger and the notifications queue, no config table, no token.
    expect(byService('-ConfigChangesFunction')).toMatchObject({ LEDGER_TABLE_NAME: outputs.LedgerTableName });
    expect(byService('-ConfigChangesFunction').CONFIG_TABLE_NAME).toBeUndefined();
    expect(secretIds(byService('-ConfigChangesFunction'))).toEqual({});
    expect(Object.values(secretIds({ ...byService('-PollerFunction'), ...byService('-RespondFunction'), ...byService('-NotifyFunction') })).every((arn) => arn.startsWith(`arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:SlackAnomalyResponderStateful-`))).toBe(true);
  });

  test('config-changes reads the config table\u2019s stream (the event source mapping is deployed, not skipped)', async () => {
    const { outputs } = await stack('SlackAnomalyResponderStateful');
    const res = await fetch(`${endpoint}/2015-03-31/event-source-mappings/`, { headers: { authorization: credentialFor('lambda') } });
    const mappings = ((await res.json()) as { EventSourceMappings: { EventSourceArn: string; FunctionArn: string }[] }).EventSourceMappings;
    const fromStream = mappings.filter((mapping) => mapping.EventSourceArn.includes(`table/${outputs.ConfigTableName}/stream/`));
    expect(fromStream.map((mapping) => mapping.FunctionArn.includes('-ConfigChangesFunction'))).toEqual([true]);
  });

  test('what moto skipped is known and listed', () => {
    const skipped = [...new Set([...serverLog.matchAll(/No Moto CloudFormation support for (\S+)/g)].map((match) => match[1]))].sort();
    console.log(`moto skipped these resource types (not deployed, not checked here): ${skipped.join(', ')}`);
    expect(skipped).toEqual(MOTO_SKIPS);
  });
});
