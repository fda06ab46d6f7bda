import { Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildResponderApp, validationReport, type ValidationViolation } from './responder-app';

function summarize(violation: ValidationViolation): string {
  return `${violation.severity} ${violation.ruleName} at ${violation.violatingConstructs.map((c) => c.constructPath).join(', ')}`;
}

/** Every acknowledgement in the app, as { rule id: reason }, read back from construct metadata. */
function acknowledgements(root: ReturnType<typeof buildResponderApp>['app']): Record<string, string> {
  const found: Record<string, string> = {};
  for (const construct of root.node.findAll()) {
    for (const entry of construct.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) found[id.replace(/^annotation::/i, '')] = reason;
    }
  }
  return found;
}

describe('cdk-nag AwsSolutions', () => {
  const built = buildResponderApp({ senderEmail: 'security-alerts@corp.example' });
  let assembly: CloudAssembly;

  beforeAll(() => {
    assembly = built.app.synth();
  });

  test('the synth reports no unacknowledged finding, error or warning', () => {
    const findings = (validationReport(assembly).get('AwsSolutions') ?? []).map(summarize);
    expect(findings).toEqual([]);
  });

  test('the rule pack, run directly over the synthesized app, agrees', () => {
    const report = new AwsSolutionsChecks().validateScope(built.app);
    const findings = report.violations.map((v) => `${v.severity} ${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`);
    expect(findings).toEqual([]);
  });

  test('every acknowledgement names a rule and says why, specifically', () => {
    const acknowledged = acknowledgements(built.app);
    expect(Object.keys(acknowledged).sort()).toEqual([
      // The config editor policy only (people using the console): the function roles hold exact key actions.
      'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      'AwsSolutions-IAM5[Action::kms:ReEncrypt*]',
      // The config editor policy: dynamodb:ListTables takes no resource; config-changes: dynamodb:ListStreams neither.
      'AwsSolutions-IAM5[Resource::*]',
      expect.stringMatching(/^AwsSolutions-IAM5\[Resource::<PollerFunction[0-9A-F]+\.Arn>:\*\]$/),
      'AwsSolutions-SMG4',
      // The config stream's on-failure destination is itself a dead-letter queue.
      'AwsSolutions-SQS3',
    ]);
    for (const reason of Object.values(acknowledged)) expect(reason.length).toBeGreaterThan(60);
  });

  test('a new finding fails the synth (the checks are wired into the app, not just this test)', () => {
    const withViolation = buildResponderApp({ senderEmail: 'security-alerts@corp.example' });
    new sqs.Queue(withViolation.stateless, 'UnencryptedQueue', { encryption: sqs.QueueEncryption.UNENCRYPTED });
    expect(() => withViolation.app.synth()).toThrow(/AwsSolutions-SQS(2|3|4)/);
  });
});
