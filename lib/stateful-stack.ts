import { Aws, CfnOutput, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import type { TokenName } from '../functions/adapters/slack/errors';
import { LOG_GROUP_PREFIX, TABLES, type TableDefinition } from './definitions';

/** One secret per Slack token, so each function's role can be given exactly the tokens it uses. */
export const TOKEN_SECRETS: Record<TokenName, { id: string; description: string }> = {
  audit: { id: 'AuditTokenSecret', description: 'the org owner\u2019s user token with auditlogs:read (xoxp-…); read by poller (poll-audit-logs) only' },
  admin: {
    id: 'AdminTokenSecret',
    description: 'an org admin\u2019s user token with admin.users:write, admin.users:read, admin.roles:read, admin.teams:read, usergroups:read, users:read, users:read.email (xoxp-…); read by respond only: it ends sessions',
  },
  directory: {
    id: 'DirectoryTokenSecret',
    description: 'an org admin\u2019s user token with read scopes only: admin.users:read, admin.roles:read, users:read, users:read.email (xoxp-…); read by notify to find recipients',
  },
  bot: { id: 'BotTokenSecret', description: 'the bot token with chat:write, im:write (xoxb-…); read by notify only' },
};

/**
 * Everything that holds data and must outlive any redeploy of the code: the encryption key, the
 * config and ledger tables, and the Slack token secret. All retained on stack deletion.
 */
export class StatefulStack extends Stack {
  readonly key: kms.Key;
  readonly configTable: dynamodb.Table;
  readonly ledgerTable: dynamodb.Table;
  readonly tokenSecrets: Record<TokenName, secretsmanager.Secret>;
  /** For the security team: edit the response configuration (the config table) and nothing else. */
  readonly configEditorPolicy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, { terminationProtection: true, ...props });

    this.key = new kms.Key(this, 'Key', {
      description: 'slack-anomaly-responder: tables, queues, Slack secret and alarm topic',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // CloudWatch alarms publish to the KMS-encrypted alarm topic; the alarm service needs the key for that.
    this.key.grant(
      new iam.ServicePrincipal('cloudwatch.amazonaws.com').withConditions({ StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } }),
      'kms:Decrypt',
      'kms:GenerateDataKey*',
    );
    // The functions' log groups are encrypted with this key (they hold e-mail addresses and IP
    // addresses). CloudWatch Logs uses it in their name, for log groups under our prefix only.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchLogsOfTheFunctions',
        principals: [new iam.ServicePrincipal(`logs.${Aws.REGION}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: {
          ArnLike: { 'kms:EncryptionContext:aws:logs:arn': `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:${LOG_GROUP_PREFIX}*` },
        },
      }),
    );

    this.configTable = this.table('ConfigTable', TABLES.config);
    this.ledgerTable = this.table('LedgerTable', TABLES.ledger);

    this.tokenSecrets = Object.fromEntries(
      (Object.keys(TOKEN_SECRETS) as TokenName[]).map((name) => {
        const { id, description } = TOKEN_SECRETS[name];
        const secret = new secretsmanager.Secret(this, id, {
          description: `slack-anomaly-responder: ${description}. Holds the bare token. Set it with: aws secretsmanager put-secret-value --secret-id <this secret> --secret-string <token>`,
          encryptionKey: this.key,
          removalPolicy: RemovalPolicy.RETAIN,
        });
        Validations.of(secret).acknowledge({
          id: 'AwsSolutions-SMG4',
          reason:
            'Slack tokens cannot be rotated by a Secrets Manager rotation Lambda: they are issued and revoked in the Slack app settings by an org admin, who then puts the new token into this secret.',
        });
        new CfnOutput(this, `${id}Arn`, { value: secret.secretArn, description: `Put ${description.split(';')[0]} here` });
        return [name, secret];
      }),
    ) as Record<TokenName, secretsmanager.Secret>;

    this.configEditorPolicy = this.configEditor();

    new CfnOutput(this, 'ConfigTableName', { value: this.configTable.tableName });
    new CfnOutput(this, 'ConfigEditorPolicyArn', {
      value: this.configEditorPolicy.managedPolicyArn,
      description: 'Attach to the security team\u2019s role or group: it may read and edit the response configuration, nothing else',
    });
    new CfnOutput(this, 'LedgerTableName', { value: this.ledgerTable.tableName });
  }

  /**
   * Slack lets only org owners, org admins and security admins change its anomaly response; ours
   * is changed by whoever may write the config table, so that is all this policy allows: the
   * table's items (the DynamoDB console's item editor and `npm run seed`), and the key only as
   * DynamoDB uses it for that table. Nothing about the ledger, the secret or the functions.
   */
  private configEditor(): iam.ManagedPolicy {
    const policy = new iam.ManagedPolicy(this, 'ConfigEditorPolicy', {
      description: 'slack-anomaly-responder config editor: read and change the response configuration (config table) only',
      statements: [
        new iam.PolicyStatement({
          sid: 'EditResponseConfiguration',
          actions: [
            'dynamodb:BatchGetItem',
            'dynamodb:BatchWriteItem',
            'dynamodb:ConditionCheckItem',
            'dynamodb:DeleteItem',
            'dynamodb:DescribeTable',
            'dynamodb:GetItem',
            'dynamodb:PutItem',
            'dynamodb:Query',
            'dynamodb:Scan',
            'dynamodb:UpdateItem',
          ],
          resources: [this.configTable.tableArn],
        }),
        new iam.PolicyStatement({
          sid: 'UseTheKeyThroughDynamoDBOnly',
          actions: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey*', 'kms:ReEncrypt*'],
          resources: [this.key.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${Aws.REGION}.amazonaws.com` } },
        }),
        new iam.PolicyStatement({
          sid: 'FindTheTableInTheConsole',
          actions: ['dynamodb:ListTables'],
          resources: ['*'],
        }),
      ],
    });
    Validations.of(policy).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'dynamodb:ListTables takes no resource (it lists table names, no data); the DynamoDB console needs it to show the config table.',
      },
      ...['kms:GenerateDataKey*', 'kms:ReEncrypt*'].map((action) => ({
        id: `AwsSolutions-IAM5[Action::${action}]`,
        reason: `${action} is what DynamoDB asks of a customer-managed key to write items; only through DynamoDB (kms:ViaService) and only this project's key.`,
      })),
    );
    return policy;
  }

  private table(id: string, definition: TableDefinition): dynamodb.Table {
    const attribute = (key: TableDefinition['partitionKey']): dynamodb.Attribute => ({
      name: key.name,
      type: key.type === 'S' ? dynamodb.AttributeType.STRING : dynamodb.AttributeType.NUMBER,
    });
    const table = new dynamodb.Table(this, id, {
      partitionKey: attribute(definition.partitionKey),
      sortKey: definition.sortKey && attribute(definition.sortKey),
      timeToLiveAttribute: definition.timeToLiveAttribute,
      stream: definition.stream && dynamodb.StreamViewType[definition.stream],
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.key,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    for (const index of definition.globalSecondaryIndexes ?? []) {
      table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: attribute(index.partitionKey),
        sortKey: index.sortKey && attribute(index.sortKey),
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }
    return table;
  }
}
