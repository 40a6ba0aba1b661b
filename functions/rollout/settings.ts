/** The rollout settings the function's configuration gives. */
import type { RedeployerConfig } from '../redeploy/config.js';
import type { RolloutSettings } from './deploy.js';

export function rolloutSettings(config: RedeployerConfig): RolloutSettings {
  return {
    stuckAfterMs: config.stuckAfterSeconds * 1000,
    pollSeconds: config.pollSeconds,
    confirmAfterMs: config.confirmAfterSeconds * 1000,
    maxAttempts: 3,
    maxDeploymentsInProgress: config.maxDeploymentsInProgress,
    brakeRetryMs: config.brakeRetrySeconds * 1000,
  };
}
