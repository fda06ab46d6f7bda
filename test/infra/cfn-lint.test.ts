import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildResponderApp } from './responder-app';

/**
 * cfn-lint (AWS's CloudFormation linter: resource schemas, intrinsic functions, best practices)
 * over both synthesized templates. It is a Python tool, not an npm package: CI's image has it
 * (1.51.0). Where it is absent this test is skipped and says so, rather than failing a machine
 * that cannot run it.
 */
const version = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' });
const available = version.status === 0;
if (!available) {
  console.warn('cfn-lint not found on PATH: test/infra/cfn-lint.test.ts is SKIPPED (pip install cfn-lint to run it)');
}

/**
 * Ignored, each for a reason:
 * - W3005 (a DependsOn already implied by a GetAtt): the CDK adds DependsOn on each function's
 *   role policy and role; redundant but harmless, and not ours to remove.
 */
const IGNORED = ['W3005'];

(available ? describe : describe.skip)(`cfn-lint (${version.stdout?.trim() || 'absent'})`, () => {
  let templates: string[];
  let outdir: string;

  beforeAll(() => {
    outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'sar-cfn-lint-'));
    const built = buildResponderApp({ senderEmail: 'security-alerts@corp.example', alarmEmail: 'oncall@corp.example' });
    const assembly = built.app.synth({ force: true });
    templates = assembly.stacks.map((stack) => path.join(outdir, stack.templateFile));
    for (const stack of assembly.stacks) fs.copyFileSync(path.join(assembly.directory, stack.templateFile), path.join(outdir, stack.templateFile));
  });

  afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

  test('both templates are synthesized', () => {
    expect(templates.map((file) => path.basename(file)).sort()).toEqual(['SlackAnomalyResponder.template.json', 'SlackAnomalyResponderStateful.template.json']);
  });

  test('no error, warning or informational finding', () => {
    const run = spawnSync('cfn-lint', ['--format', 'parseable', '--ignore-checks', ...IGNORED, '--', ...templates], { encoding: 'utf8' });
    // Exit code: bit 2 errors, 4 warnings, 8 informational; 0 is clean.
    expect({ status: run.status, findings: run.stdout.trim().split('\n').filter(Boolean), stderr: run.stderr.trim() }).toEqual({ status: 0, findings: [], stderr: '' });
  });

  test('the linter does find what it should: a broken template fails', () => {
    const broken = path.join(outdir, 'broken.template.json');
    fs.writeFileSync(broken, JSON.stringify({ Resources: { Queue: { Type: 'AWS::SQS::Queue', Properties: { VisibilityTimeout: 'soon' } } } }));
    const run = spawnSync('cfn-lint', ['--format', 'parseable', '--', broken], { encoding: 'utf8' });
    expect(run.status).not.toBe(0);
    expect(run.stdout).toMatch(/E3012:'soon' is not of type 'integer'/);
  });
});
