import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import type { IConstruct } from 'constructs';
import { defineResponderApp, type ResponderApp } from '../../lib/responder-app';

const cdkJson = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };

/**
 * The real app (same feature flags as cdk.json, cdk-nag included) without the slow parts:
 * no esbuild bundling, no built-in CloudFormation schema validation (cdk-nag still runs).
 */
export function buildResponderApp(context: Record<string, unknown> = {}): ResponderApp & { app: App } {
  process.env.CDK_VALIDATION = 'false';
  const app = new App({ context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [], ...context } });
  return { app, ...defineResponderApp(app) };
}

export function logicalId(construct: IConstruct): string {
  const element = (construct.node.defaultChild ?? construct) as CfnElement;
  return Stack.of(element).getLogicalId(element);
}

export interface ValidationViolation {
  ruleName: string;
  severity: string;
  violatingConstructs: { constructPath: string }[];
}

/** The policy-validation report CDK writes into the cloud assembly, grouped by plugin name. */
export function validationReport(assembly: CloudAssembly): Map<string, ValidationViolation[]> {
  const report = JSON.parse(fs.readFileSync(path.join(assembly.directory, 'validation-report.json'), 'utf8')) as {
    pluginReports: { pluginName: string; violations: ValidationViolation[] }[];
  };
  return new Map(report.pluginReports.map((plugin) => [plugin.pluginName, plugin.violations]));
}
