#!/usr/bin/env node
// `npx ecs-redeployer …`: runs cli/main.ts through tsx, so the CLI shares the function's
// TypeScript domain code without a build step.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('./main.ts');
await runCli();
