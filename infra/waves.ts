/**
 * Waves: how a rollout contains a bad rotation. The canary first, then waves of growing size,
 * each only once the one before completed (and baked, with the watched alarms OK). A failure or
 * an alarm halts the rollout until a person resumes or aborts it. See functions/rollout/waves.ts.
 */
import { Duration } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { checkInteger, checkRange } from './validation.js';

/** A wave's size: a number of services, or a share of all the rollout's services (`'10%'`). */
export type WaveSize = number | `${number}%`;

/**
 * Which changes go in waves. Holding a service back is safe only while the previous value still
 * works: with the alternating-users rotation it does, with a single user it does not (the old
 * password stops working, so every held service is broken until deployed).
 *
 * - `tagged`: changes of secrets and parameters tagged `secret-redeployer:waves` = `on`, and of
 *   secrets rotated by an alternating-users rotation function (AWS's `…MultiUser` templates);
 * - `all`: every change, except those tagged `off` and secrets another service manages (RDS's
 *   master user password rotates single-user).
 */
export type WavesAppliesTo = 'all' | 'tagged';

export interface WaveOptions {
  /**
   * The first wave (the canary: services tagged `secret-redeployer:wave` = `canary`, else this
   * many), then each next wave; the services left over make one last wave.
   * @default [1, '10%', '50%']
   */
  readonly sizes?: readonly WaveSize[];

  /**
   * How long a completed wave bakes before the next starts, the watched alarms staying OK
   * throughout (whole seconds, 0 to 24 hours).
   * @default Duration.seconds(0)
   */
  readonly bake?: Duration;

  /**
   * Alarms that halt a rollout when they go to ALARM while its waves deploy or bake (for
   * example the services' load-balancer 5xx alarms). At most 100.
   * @default - none
   */
  readonly alarms?: readonly cloudwatch.IAlarm[];

  /** Which changes go in waves. @default 'tagged' */
  readonly appliesTo?: WavesAppliesTo;
}

export const DEFAULT_WAVES = {
  sizes: [1, '10%', '50%'] as readonly WaveSize[],
  appliesTo: 'tagged' as WavesAppliesTo,
} as const;

/** The checked wave settings. */
export interface WaveSettings {
  /** `1,10%,50%`: as the functions read it. */
  readonly sizes: string;
  readonly bakeSeconds: number;
  readonly alarms: readonly cloudwatch.IAlarm[];
  readonly appliesTo: WavesAppliesTo;
}

/** Checks the wave options (errors name the prop) and fills in the defaults. */
export function waveSettings(options: WaveOptions): WaveSettings {
  const sizes = options.sizes ?? DEFAULT_WAVES.sizes;
  if (sizes.length === 0) {
    throw new Error('waves.sizes must name at least one wave (or set waves: false)');
  }
  const text = sizes.map((size, i) => {
    const name = `waves.sizes[${i}]`;
    if (typeof size === 'number') {
      checkInteger(name, size, 1, 10_000);
      return String(size);
    }
    const match = /^(\d{1,3})%$/.exec(size);
    const percent = match ? Number(match[1]) : Number.NaN;
    if (!(percent >= 1 && percent <= 100)) {
      throw new Error(
        `${name} must be a whole number of services or a percentage 1%-100%, got "${size}"`,
      );
    }
    return `${percent}%`;
  });
  const bakeSeconds = checkRange(
    'waves.bake',
    options.bake ?? Duration.seconds(0),
    Duration.seconds(0),
    Duration.hours(24),
  );
  const alarms = options.alarms ?? [];
  if (alarms.length > 100) {
    throw new Error(`waves.alarms takes at most 100 alarms, got ${alarms.length}`);
  }
  const appliesTo: string = options.appliesTo ?? DEFAULT_WAVES.appliesTo;
  // A JavaScript caller (or a cast) can pass anything.
  if (appliesTo !== 'all' && appliesTo !== 'tagged') {
    throw new Error(`waves.appliesTo must be "all" or "tagged", got "${appliesTo}"`);
  }
  return { sizes: text.join(','), bakeSeconds, alarms, appliesTo };
}

/** What the change handler reads (functions/redeploy/config.ts); empty `WAVES` is no waves. */
export function waveEnvironment(settings: WaveSettings | false): Record<string, string> {
  if (settings === false) return { WAVES: 'off' };
  return {
    WAVES: settings.sizes,
    WAVE_BAKE_SECONDS: String(settings.bakeSeconds),
    WAVE_ALARMS: settings.alarms.map((alarm) => alarm.alarmName).join(','),
    WAVES_FOR: settings.appliesTo,
  };
}
