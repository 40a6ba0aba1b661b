/**
 * Test helpers that synthesise the redeployer the way `cdk synth` does.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { RedeployerStack } from '../../infra/redeployer-stack.js';
import { SecretRedeployer, type SecretRedeployerProps } from '../../infra/secret-redeployer.js';

/** Skips esbuild bundling where a test only inspects the template (faster). */
const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] as string[] };

export function newApp(context: Record<string, unknown> = {}, bundle = false): App {
  return new App({
    outdir: mkdtempSync(join(tmpdir(), 'redeployer-synth-')),
    context: { ...(bundle ? {} : NO_BUNDLING), ...context },
  });
}

/** A stack with one SecretRedeployer built from `props`. */
export function constructTemplate(
  props: SecretRedeployerProps = {},
  env: { account: string; region: string } | 'agnostic' = {
    account: '123456789012',
    region: 'eu-west-1',
  },
): {
  stack: Stack;
  redeployer: SecretRedeployer;
  template: Template;
} {
  const app = newApp();
  const stack = new Stack(app, 'TestStack', env === 'agnostic' ? {} : { env });
  const redeployer = new SecretRedeployer(stack, 'Redeployer', props);
  return { stack, redeployer, template: Template.fromStack(stack) };
}

/** The deployable stack, configured through context as `cdk.json` or `-c` would. */
export function stackTemplate(context: Record<string, unknown> = {}): Template {
  const app = newApp(context);
  return Template.fromStack(new RedeployerStack(app, 'SecretRedeployer'));
}

export interface NagViolation {
  readonly ruleName: string;
  readonly constructs: readonly string[];
}

/** Synthesises an app with the AwsSolutions checks and returns every unacknowledged finding. */
export function nagFindings(build: (app: App) => void, context: Record<string, unknown> = {}) {
  const app = newApp(context);
  build(app);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  let error: unknown;
  try {
    app.synth();
  } catch (caught) {
    error = caught;
  }
  const report = JSON.parse(readFileSync(join(app.outdir, 'validation-report.json'), 'utf8')) as {
    pluginReports: {
      violations?: { ruleName: string; violatingConstructs: { constructPath: string }[] }[];
    }[];
  };
  const violations: NagViolation[] = report.pluginReports.flatMap((plugin) =>
    (plugin.violations ?? []).map((v) => ({
      ruleName: v.ruleName,
      constructs: v.violatingConstructs.map((c) => c.constructPath),
    })),
  );
  return { violations, error };
}
