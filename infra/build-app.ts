/**
 * What the CDK app contains, separate from the entry point so tests can build the very same app.
 *
 * - `SecretRedeployer`: the product; the only top-level stack, so a plain `npx cdk deploy`
 *   deploys it and nothing else.
 * - `RotationDemo/Demo`: the rotation example, inside a stage so it is deployed only when asked
 *   for: `npx cdk deploy 'RotationDemo/*'`.
 */
import { type App, type Environment, Stage, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { RedeployerStack } from './redeployer-stack.js';
import { RotationDemoStack } from './rotation-demo-stack.js';

export interface BuiltApp {
  readonly product: RedeployerStack;
  readonly demo: RotationDemoStack;
}

export function buildApp(app: App, env?: Environment): BuiltApp {
  const product = new RedeployerStack(app, 'SecretRedeployer', {
    description: 'Redeploys the ECS services that reference a changed secret or parameter',
    ...(env && { env }),
  });

  const rotation: unknown = app.node.tryGetContext('demo:rotation') ?? 'alternating-users';
  if (rotation !== 'alternating-users' && rotation !== 'single-user') {
    throw new Error(
      `Context demo:rotation must be alternating-users or single-user, got ${JSON.stringify(rotation)}`,
    );
  }
  const withRedeployer: unknown = app.node.tryGetContext('demo:withRedeployer');
  const stage = new Stage(app, 'RotationDemo', { ...(env && { env }) });
  const demo = new RotationDemoStack(stage, 'Demo', {
    description:
      'Rotation demo: RDS PostgreSQL with a rotating secret, an ECS service, the redeployer',
    rotation: rotation,
    withRedeployer: withRedeployer !== false && withRedeployer !== 'false',
  });

  // cdk-nag on every synth: any unacknowledged finding fails it.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { product, demo };
}
