/** The rollout settings the function's configuration gives. */
import type { RedeployerConfig } from '../redeploy/config.js';
import { DEFAULT_ROLLOUT_SETTINGS, type RolloutSettings } from './deploy.js';
import type { RolloutDependencies } from './intake.js';

export function rolloutSettings(config: RedeployerConfig): RolloutSettings {
  return {
    stuckAfterMs: config.stuckAfterSeconds * 1000,
    pollSeconds: config.pollSeconds,
    confirmAfterMs: config.confirmAfterSeconds * 1000,
    maxAttempts: 3,
    maxDeploymentsInProgress: config.maxDeploymentsInProgress,
    brakeRetryMs: config.brakeRetrySeconds * 1000,
    operatorLookSeconds: DEFAULT_ROLLOUT_SETTINGS.operatorLookSeconds,
  };
}

/** The wave settings the function's configuration gives (no sizes: no waves). */
export function waveSettings(config: RedeployerConfig): NonNullable<RolloutDependencies['waves']> {
  return {
    sizes: config.waves,
    bakeSeconds: config.waveBakeSeconds,
    alarms: config.waveAlarms,
    for: config.wavesFor,
  };
}
