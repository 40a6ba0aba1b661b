#!/usr/bin/env node
/**
 * CDK app entry point. `npx cdk synth` runs offline: no lookups, no Docker.
 */
import { App } from 'aws-cdk-lib';
import { buildApp } from './build-app.js';

const app = new App();
// Environment-agnostic unless the CLI knows the target account and Region.
const { CDK_DEFAULT_ACCOUNT: account, CDK_DEFAULT_REGION: region } = process.env;
buildApp(app, account && region ? { account, region } : undefined);
app.synth();
