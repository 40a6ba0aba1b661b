#!/usr/bin/env node
/**
 * CDK app entry point. `npx cdk synth` runs offline: no lookups, no Docker.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { RedeployerStack } from './redeployer-stack.js';

const app = new App();
new RedeployerStack(app, 'SecretRedeployer', {
  description: 'Redeploys the ECS services that reference a changed secret or parameter',
  // Environment-agnostic unless the CLI knows the target account and Region.
  ...(process.env.CDK_DEFAULT_ACCOUNT &&
    process.env.CDK_DEFAULT_REGION && {
      env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
    }),
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
