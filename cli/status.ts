/**
 * `status [CHANGE | --latest]`: how the redeployer's rollouts are going, read from its rollout
 * table. One rollout: the change, the rollout's status and times, its engine execution, and one
 * row per service (state, deployment, duration, reason). No rollout named: the recent ones.
 *
 * Informational: a rollout still OPEN exits 0. One that ended exits 1 unless every service
 * COMPLETED or was SKIPPED.
 */
import type { RolloutRecord, ServiceRecord } from '../functions/rollout/model.js';
import { summarise } from '../functions/rollout/summary.js';
import type { CloudFormationLike } from './aws.js';
import type { Clock } from './clock.js';
import { EXIT_FAILURE, EXIT_OK, RolloutNotFoundError } from './errors.js';
import { type Output, formatDuration, plural, table } from './output.js';
import {
  RolloutReader,
  type RolloutStoreFactory,
  changeMatcher,
  countsText,
  delivered,
  deploymentMs,
  durationBetween,
  looksLikeRolloutId,
  reasonText,
  rolloutTableName,
  serviceLabel,
} from './rollouts.js';

export interface StatusOptions {
  /** A rollout id, or a secret or parameter (name or ARN): its newest rollout. */
  readonly change?: string;
  /** The newest rollout. */
  readonly latest: boolean;
  /** With neither `change` nor `latest`: how many rollouts to list. @default 10 */
  readonly limit?: number;
  readonly json: boolean;
  readonly region: string;
  /** The redeployer's stack, for its RolloutTableName output. @default SecretRedeployer */
  readonly stack?: string;
  /** The rollout table; skips the stack. */
  readonly table?: string;
}

export interface StatusDependencies {
  readonly clients: { readonly cloudFormation: CloudFormationLike };
  readonly rolloutStore: RolloutStoreFactory;
  readonly output: Output;
  readonly clock: Clock;
}

export const STATUS_DEFAULT_LIMIT = 10;

/** Runs `status`. Returns the exit code. */
export async function status(options: StatusOptions, deps: StatusDependencies): Promise<number> {
  // Checked before any AWS call: a name that can be neither secret nor parameter is a usage error.
  const matches = options.change === undefined ? undefined : changeMatcher(options.change);
  const tableName = await rolloutTableName(options, deps.clients.cloudFormation);
  const reader = new RolloutReader(deps.rolloutStore(tableName), options.region);

  if (options.change === undefined && !options.latest) {
    return list(reader, options.limit ?? STATUS_DEFAULT_LIMIT, options, deps);
  }
  let rollout: RolloutRecord | undefined;
  if (options.latest) {
    [rollout] = await reader.recent(1);
    if (rollout === undefined) {
      throw new RolloutNotFoundError('rollout yet', tableName, options.region);
    }
  } else {
    const change = options.change ?? '';
    if (looksLikeRolloutId(change)) rollout = await reader.rollout(change);
    if (rollout === undefined && matches !== undefined) rollout = await reader.newest(matches);
    if (rollout === undefined) {
      throw new RolloutNotFoundError(
        looksLikeRolloutId(change)
          ? `rollout with id ${change}, nor of a secret or parameter of that name,`
          : `rollout of ${change}`,
        tableName,
        options.region,
      );
    }
  }
  const services = await reader.services(rollout.rolloutId);
  if (options.json) {
    const summary = summarise(rollout, services);
    deps.output.line(JSON.stringify({ rollout, services, summary }, null, 2));
  } else {
    printRollout(rollout, services, deps.clock.now(), deps.output);
  }
  // Open: status only informs, unless the rollout halted and waits for a person.
  if (rollout.status === 'OPEN') return rollout.halted === undefined ? EXIT_OK : EXIT_FAILURE;
  return delivered(services) ? EXIT_OK : EXIT_FAILURE;
}

// ---------------------------------------------------------------------------------------------
// One rollout
// ---------------------------------------------------------------------------------------------

/** The change, the rollout's status, times and engine, one row per service, counts and owed. */
export function printRollout(
  rollout: RolloutRecord,
  services: readonly ServiceRecord[],
  now: Date,
  output: Output,
): void {
  const { change } = rollout;
  const field = (label: string, value: string): void => {
    output.line(`${`${label}:`.padEnd(10)} ${value}`);
  };
  output.line(`Rollout ${rollout.rolloutId}: ${rollout.status}`);
  field('Change', `${change.type} ${change.name}`);
  field('ARN', change.arn);
  if (change.label !== undefined) field('Label', change.label);
  field('Version', change.version);
  field('Trigger', `${change.trigger} (action: ${change.action})`);
  field('Created', rollout.createdAt);
  if (rollout.endedAt !== undefined) {
    const took = durationBetween(rollout.createdAt, rollout.endedAt);
    field('Ended', `${rollout.endedAt}${took === undefined ? '' : ` (took ${took})`}`);
  } else if (rollout.status === 'OPEN') {
    const open = durationBetween(rollout.createdAt, now.toISOString());
    field('Ended', `not yet${open === undefined ? '' : ` (open for ${open})`}`);
  } else {
    field('Ended', 'not recorded');
  }
  if (rollout.abortedBy !== undefined) field('Aborted', rollout.abortedBy);
  field('Engine', engineText(rollout));
  if (rollout.waves !== undefined) {
    const { waves } = rollout;
    field(
      'Waves',
      `wave ${rollout.currentWave ?? 1} of ${waves.count}` +
        (waves.bakeSeconds > 0 ? `, each baked ${formatDuration(waves.bakeSeconds * 1000)}` : '') +
        (waves.alarms.length > 0 ? `, alarms ${waves.alarms.join(', ')}` : '') +
        (rollout.bakeUntil !== undefined ? `; baking until ${rollout.bakeUntil}` : '') +
        (waves.why !== undefined ? ` (${waves.why})` : ''),
    );
  } else if (rollout.noWaves !== undefined) {
    field('Waves', `not for this change: ${rollout.noWaves}`);
  }
  if (rollout.halted !== undefined && rollout.status === 'OPEN') {
    field('HALTED', `${rollout.halted.at}, wave ${rollout.halted.wave}: ${rollout.halted.reason}`);
    field(
      'Next',
      `fix the cause, then \`ecs-redeployer resume ${rollout.rolloutId}\`; or stop it with ` +
        `\`ecs-redeployer abort ${rollout.rolloutId}\``,
    );
  }
  if (rollout.control !== undefined && rollout.status === 'OPEN') {
    field(
      'Request',
      `${rollout.control.action}${rollout.control.by ? ` by ${rollout.control.by}` : ''} at ` +
        `${rollout.control.at}, not applied yet`,
    );
  }
  if (rollout.status === 'OPEN' && rollout.observedAt !== undefined) {
    field(
      'Watched',
      `last look ${rollout.observedAt}` +
        (rollout.nextLookAt === undefined ? '' : `, next look ${rollout.nextLookAt}`),
    );
  }

  output.line();
  const sorted = [...services].sort((a, b) => serviceLabel(a).localeCompare(serviceLabel(b)));
  if (sorted.length === 0) {
    output.line('No service references it.');
  } else {
    const inWaves = rollout.waves !== undefined;
    const byWave = inWaves ? [...sorted].sort((a, b) => (a.wave ?? 1) - (b.wave ?? 1)) : sorted;
    for (const line of table(
      [...(inWaves ? ['WAVE'] : []), 'SERVICE', 'STATE', 'DEPLOYMENT', 'DURATION', 'REASON'],
      byWave.map((record) => {
        const ms = deploymentMs(record, now);
        return [
          ...(inWaves ? [record.wave === 1 ? '1 (canary)' : String(record.wave ?? 1)] : []),
          serviceLabel(record),
          record.state,
          record.deploymentId ?? '-',
          ms === undefined ? '-' : formatDuration(ms),
          reasonText(record) || '-',
        ];
      }),
    )) {
      output.line(line);
    }
  }

  const summary = summarise(rollout, services);
  output.line();
  const { median, max } = summary.durations;
  output.line(
    `${plural(services.length, 'service')}: ${countsText(services)}.` +
      (median === undefined
        ? ''
        : ` Deployment time: median ${formatDuration(median * 1000)}, ` +
          `longest ${formatDuration((max ?? median) * 1000)}.`),
  );
  const owed = sorted.filter((s) => summary.owed.some((o) => o.service === s.serviceArn));
  if (owed.length > 0) {
    const what = owed.map((s) => `${serviceLabel(s)} (${s.state})`).join(', ');
    output.line(
      rollout.status === 'OPEN'
        ? `Still owed: ${what}.`
        : `Still owed: ${what}. These services do not run the new value: act on the reasons above.`,
    );
  } else if (rollout.status !== 'OPEN') {
    output.line('Nothing is owed: every service runs the new value or was rightly skipped.');
  }
}

function engineText(rollout: RolloutRecord): string {
  const { engine } = rollout;
  if (engine === undefined) return 'not started';
  const attempt = `attempt ${engine.attempt}`;
  if (engine.error !== undefined) {
    return `${engine.name} (${attempt}) could not be started: ${engine.error}`;
  }
  return (
    `${engine.name} (${attempt}` +
    (engine.startedAt === undefined ? '' : `, started ${engine.startedAt}`) +
    ')'
  );
}

// ---------------------------------------------------------------------------------------------
// The recent rollouts
// ---------------------------------------------------------------------------------------------

async function list(
  reader: RolloutReader,
  limit: number,
  options: StatusOptions,
  deps: StatusDependencies,
): Promise<number> {
  const rollouts = await reader.recent(limit);
  const rows: { rollout: RolloutRecord; services: ServiceRecord[] }[] = [];
  for (const rollout of rollouts) {
    rows.push({ rollout, services: await reader.services(rollout.rolloutId) });
  }
  const { output } = deps;
  if (options.json) {
    output.line(
      JSON.stringify(
        {
          rollouts: rows.map(({ rollout, services }) => ({
            rollout,
            summary: summarise(rollout, services),
          })),
        },
        null,
        2,
      ),
    );
    return EXIT_OK;
  }
  if (rows.length === 0) {
    output.line(`No rollouts in table ${reader.tableName} (${options.region}) yet.`);
    return EXIT_OK;
  }
  for (const line of table(
    ['ROLLOUT', 'CHANGE', 'STATUS', 'CREATED', 'SERVICES'],
    rows.map(({ rollout, services }) => [
      rollout.rolloutId,
      `${rollout.change.type} ${rollout.change.name}`,
      rollout.status,
      rollout.createdAt,
      countsText(services),
    ]),
  )) {
    output.line(line);
  }
  output.line();
  output.line(
    `${plural(rows.length, 'rollout')}, newest first, from table ${reader.tableName}` +
      (rows.length >= limit ? ` (--limit ${limit}: there may be more)` : '') +
      '. `ecs-redeployer status ROLLOUT` shows one in full.',
  );
  return EXIT_OK;
}
