import * as path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { LAMBDA_BUNDLING, LOG_GROUP_PREFIX, type FunctionDefinition } from '../definitions';

/** Repository root: FUNCTIONS[*].entry paths and the npm lock file are relative to it. */
export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

/** Logs may hold user ids and e-mail addresses of people involved in security events: keep them a while, not forever. */
const LOG_RETENTION = logs.RetentionDays.THREE_MONTHS;

export interface ResponderFunctionProps {
  /** Also gives the Powertools service name: the `service` dimension of the function's custom metrics. */
  definition: FunctionDefinition;
  environment: Record<string, string>;
  /** Encrypts the log group: it holds e-mail addresses and IP addresses of the people involved. */
  logKey: kms.IKey;
  reservedConcurrentExecutions?: number;
}

/**
 * One of the three Lambda functions, all built the same way: bundled locally by esbuild (no
 * Docker), ARM64 on the newest Node runtime, its own log group and its own role, which starts
 * with permission to write to that log group and nothing else: every other permission is a grant.
 */
export class ResponderFunction extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly serviceName: string;

  constructor(scope: Construct, id: string, props: ResponderFunctionProps) {
    super(scope, id);
    const { definition } = props;
    const { serviceName } = definition;
    this.serviceName = serviceName;

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      // A fixed name under the prefix the key policy lets CloudWatch Logs use the key for.
      logGroupName: `${LOG_GROUP_PREFIX}${serviceName}`,
      retention: LOG_RETENTION,
      encryptionKey: props.logKey,
    });

    // Our own role instead of AWSLambdaBasicExecutionRole: that managed policy lets the function
    // create and write any log group in the account; this one writes only to its own.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the ${serviceName} function`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: path.join(PROJECT_ROOT, definition.entry),
      handler: 'handler',
      description: definition.description,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      timeout: Duration.seconds(definition.timeoutSeconds),
      memorySize: definition.memoryMiB,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
      systemLogLevelV2: lambda.SystemLogLevel.INFO,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      environment: {
        // No POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE: the handlers pass the service
        // name and namespace of lib/definitions.ts to Powertools themselves, which overrides both.
        ...props.environment,
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: {
        // esbuild is a devDependency, so CDK runs it locally; never fall back to Docker.
        forceDockerBundling: false,
        // The settings `npm run bench` measures with (lib/definitions.ts).
        target: LAMBDA_BUNDLING.target,
        format: LAMBDA_BUNDLING.format === 'esm' ? nodejs.OutputFormat.ESM : nodejs.OutputFormat.CJS,
        minify: LAMBDA_BUNDLING.minify,
        sourceMap: LAMBDA_BUNDLING.sourceMap,
        mainFields: [...LAMBDA_BUNDLING.mainFields],
        // Explicit, even when empty: left undefined, CDK would make @aws-sdk/* and @smithy/*
        // external and the function would run the Lambda runtime's SDK, a version no test ran.
        // Bundling it makes production run the SDK pinned in package-lock.json.
        externalModules: [...LAMBDA_BUNDLING.externalModules],
        banner: LAMBDA_BUNDLING.banner,
      },
    });
  }
}
