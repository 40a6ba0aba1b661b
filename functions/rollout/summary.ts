/**
 * The end of a rollout: close it (once, whoever gets there first), and say what became of every
 * service: one notification, metrics, a log line. Built from the records only, so it can never
 * contain a secret or parameter value.
 */
import type { ChangeSummary, RolloutRecord, ServiceRecord, ServiceState } from './model.js';
import { UNDELIVERED_STATES, countStates, isAwaitingHook } from './model.js';
import type { RolloutStore } from './store.js';

export interface ServiceOutcome {
  readonly service: string;
  readonly state: ServiceState;
  readonly deploymentId?: string;
  /** Seconds from UpdateService (or adoption) to the end, when both are known. */
  readonly seconds?: number;
  readonly reason?: string;
}

export interface RolloutSummary {
  readonly rolloutId: string;
  readonly change: ChangeSummary;
  readonly status: RolloutRecord['status'];
  readonly createdAt: string;
  readonly endedAt?: string;
  /** Seconds from the rollout's creation to its end. */
  readonly seconds?: number;
  readonly counts: Partial<Record<ServiceState, number>>;
  /** Deployment durations of the services that ended, in seconds. */
  readonly durations: { readonly median?: number; readonly max?: number };
  /** Services that did not receive the change, and why: a person must act. */
  readonly owed: readonly ServiceOutcome[];
  readonly services: readonly ServiceOutcome[];
}

const seconds = (from?: string, to?: string): number | undefined => {
  if (from === undefined || to === undefined) return undefined;
  const value = (Date.parse(to) - Date.parse(from)) / 1000;
  return Number.isFinite(value) && value >= 0 ? Math.round(value) : undefined;
};

function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? sorted[middle]
    : Math.round(((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2);
}

export function summarise(
  rollout: RolloutRecord,
  records: readonly ServiceRecord[],
): RolloutSummary {
  const services = records
    .map((r): ServiceOutcome => ({
      service: r.serviceArn,
      state: r.state,
      ...(r.deploymentId !== undefined && { deploymentId: r.deploymentId }),
      ...(seconds(r.deployingAt, r.endedAt) !== undefined && {
        seconds: seconds(r.deployingAt, r.endedAt),
      }),
      ...(r.reason !== undefined && { reason: r.reason }),
    }))
    .sort((a, b) => a.service.localeCompare(b.service));
  const durations = services
    .filter((s) => s.state === 'COMPLETED' && s.seconds !== undefined)
    .map((s) => s.seconds ?? 0);
  return {
    rolloutId: rollout.rolloutId,
    change: rollout.change,
    status: rollout.status,
    createdAt: rollout.createdAt,
    ...(rollout.endedAt !== undefined && { endedAt: rollout.endedAt }),
    ...(seconds(rollout.createdAt, rollout.endedAt) !== undefined && {
      seconds: seconds(rollout.createdAt, rollout.endedAt),
    }),
    counts: countStates(records),
    durations: {
      ...(median(durations) !== undefined && { median: median(durations) }),
      ...(durations.length > 0 && { max: Math.max(...durations) }),
    },
    owed: services.filter((s) => UNDELIVERED_STATES.has(s.state) || !isEnded(s.state)),
    services,
  };
}

const isEnded = (state: ServiceState): boolean =>
  !['PLANNED', 'HELD', 'DEPLOYING', 'SUPERSEDED'].includes(state);

const short = (arn: string): string => arn.split('/').slice(-2).join('/');

/** A readable message: subject under 100 characters, body a plain-text report. */
export function formatRolloutNotification(summary: RolloutSummary): {
  subject: string;
  message: string;
} {
  const { change, counts } = summary;
  const completed = counts.COMPLETED ?? 0;
  const problems = summary.owed.length;
  const what = `${change.type} ${change.name}`;
  const verb = summary.status === 'ABORTED' ? 'rollout aborted' : 'rollout ended';
  const headline =
    `${what}: ${verb}, ${completed} completed` +
    (problems > 0 ? `, ${problems} need attention` : '');
  const lines = [
    `Rollout ${summary.rolloutId} of ${what}`,
    `ARN: ${change.arn}`,
    `Change: ${change.trigger}` +
      (change.label && change.label !== 'deleted'
        ? `, ${change.label} now at version ${change.version}`
        : ''),
    `Started ${summary.createdAt}, ended ${summary.endedAt ?? '?'}` +
      (summary.seconds !== undefined ? ` (${summary.seconds} s)` : ''),
    '',
    'Services by state: ' +
      (Object.entries(counts)
        .map(([state, n]) => `${state} ${n}`)
        .join(', ') || 'none'),
  ];
  if (summary.durations.median !== undefined) {
    lines.push(
      `Deployment time: median ${summary.durations.median} s, longest ${summary.durations.max ?? '?'} s`,
    );
  }
  if (problems > 0) {
    lines.push('', `STILL OWED: these services do not run the new value (${problems}):`);
    for (const s of summary.owed) {
      lines.push(`  - ${short(s.service)}: ${s.state}${s.reason ? ` - ${s.reason}` : ''}`);
    }
  }
  const delivered = summary.services.filter((s) => s.state === 'COMPLETED');
  if (delivered.length > 0) {
    lines.push('', `Running the new value (${delivered.length}):`);
    for (const s of delivered) {
      lines.push(`  - ${short(s.service)}${s.seconds !== undefined ? ` (${s.seconds} s)` : ''}`);
    }
  }
  const skipped = summary.services.filter((s) => s.state === 'SKIPPED');
  if (skipped.length > 0) {
    lines.push('', `Skipped (${skipped.length}):`);
    for (const s of skipped) lines.push(`  - ${short(s.service)}: ${s.reason ?? ''}`);
  }
  lines.push('', `Details: npx ecs-redeployer status ${summary.rolloutId}`);
  const subject = `ECS secret redeployer: ${headline}`.replace(/\s+/g, ' ').slice(0, 99);
  return { subject, message: lines.join('\n') };
}

export interface FinishDependencies {
  readonly store: RolloutStore;
  readonly now: () => Date;
  /** Sends the notification (SNS); absent: none. */
  readonly notify?: (subject: string, message: string) => Promise<void>;
  /** Writes the metrics of an ended rollout. */
  readonly record?: (summary: RolloutSummary) => void;
}

/**
 * Reports and closes the rollout if it is still open: DONE, or ABORTED when an operator asked
 * (the services it never started are then recorded NEEDS_ACTION, code `aborted`: still owed).
 * The notification goes out before the rollout is closed, so a failure to send it fails the step
 * and the engine retries: it may be sent twice, never lost. Metrics are written by the caller
 * that closes it, once.
 */
export async function finishRollout(
  deps: FinishDependencies,
  rolloutId: string,
): Promise<RolloutSummary | undefined> {
  const rollout = await deps.store.rollout(rolloutId);
  if (!rollout) return undefined;
  let records = await deps.store.services(rolloutId);
  if (rollout.status !== 'OPEN') return summarise(rollout, records);
  const now = deps.now();
  const aborted = rollout.control?.action === 'abort';
  if (aborted) records = await markAborted(deps, rollout, records, now);
  const status = aborted ? 'ABORTED' : 'DONE';
  const summary = summarise({ ...rollout, status, endedAt: now.toISOString() }, records);
  if (deps.notify) {
    const { subject, message } = formatRolloutNotification(summary);
    await deps.notify(subject, message);
  }
  const by = aborted ? (rollout.control.by ?? 'an operator') : undefined;
  if (await deps.store.closeRollout(rolloutId, status, now, by)) deps.record?.(summary);
  return summary;
}

/** Records every service an aborted rollout never started as owed, with why. */
async function markAborted(
  deps: FinishDependencies,
  rollout: RolloutRecord,
  records: readonly ServiceRecord[],
  now: Date,
): Promise<ServiceRecord[]> {
  const by = rollout.control?.by ? ` by ${rollout.control.by}` : '';
  const halt = rollout.halted
    ? ` after wave ${rollout.halted.wave} halted: ${rollout.halted.reason}`
    : '';
  const marked: ServiceRecord[] = [];
  for (const record of records) {
    if (record.state !== 'PLANNED' && record.state !== 'HELD') {
      marked.push(record);
      continue;
    }
    const changed: ServiceRecord = {
      ...record,
      state: 'NEEDS_ACTION',
      code: 'aborted',
      reason: `not deployed: the rollout was aborted${by}${halt}`.slice(0, 1000),
      updatedAt: now.toISOString(),
      endedAt: now.toISOString(),
    };
    const written = await deps.store.putService(rollout.rolloutId, changed, now, {
      states: [record.state],
      updatedAt: record.updatedAt,
    });
    marked.push(
      written
        ? changed
        : ((await deps.store.service(rollout.rolloutId, record.serviceArn)) ?? record),
    );
  }
  return marked;
}

/** How an operator resumes or aborts a halted rollout, from a shell. */
function operatorInstructions(rolloutId: string, tableName?: string): string[] {
  const lines = [
    'To go on once the cause is fixed (the failed services are deployed again, then the next waves):',
    `  npx ecs-redeployer resume ${rolloutId}`,
    'To stop here (nothing more is started; the services not deployed are reported as owed):',
    `  npx ecs-redeployer abort ${rolloutId}`,
  ];
  if (tableName !== undefined) {
    const key = JSON.stringify({ pk: { S: `R#${rolloutId}` }, sk: { S: '#' } });
    lines.push(
      'Without the CLI (the engine waits on a callback; use "abort" in place of "resume" to stop):',
      `  id=$(aws dynamodb get-item --table-name ${tableName} --key '${key}' --query Item.operatorCallbackId.S --output text)`,
      `  aws lambda send-durable-execution-callback-success --callback-id "$id" --cli-binary-format raw-in-base64-out --result '{"action":"resume"}'`,
    );
  }
  return lines;
}

/** The notification of a halt: what failed and why, who runs which value, how to go on. */
export function formatHaltNotification(
  rollout: RolloutRecord,
  records: readonly ServiceRecord[],
  tableName?: string,
): { subject: string; message: string } {
  const halted = rollout.halted;
  const what = `${rollout.change.type} ${rollout.change.name}`;
  const waves = rollout.waves?.count ?? 1;
  const wave = halted?.wave ?? rollout.currentWave ?? 1;
  const failed = new Set(halted?.services ?? []);
  const sorted = [...records].sort((a, b) => a.serviceArn.localeCompare(b.serviceArn));
  const lines = [
    `Rollout ${rollout.rolloutId} of ${what} HALTED in wave ${wave} of ${waves}`,
    `ARN: ${rollout.change.arn}`,
    `Halted at ${halted?.at ?? '?'}: ${halted?.reason ?? 'unknown reason'}`,
    '',
    'Nothing more is started until a person resumes or aborts the rollout. The services held back',
    'keep running the previous value; with the alternating-users rotation it stays valid.',
  ];
  const section = (
    title: string,
    list: readonly ServiceRecord[],
    detail: (r: ServiceRecord) => string,
  ) => {
    if (list.length === 0) return;
    lines.push('', `${title} (${list.length}):`);
    for (const r of list) lines.push(`  - ${short(r.serviceArn)}${detail(r)}`);
  };
  section(
    'Failed',
    sorted.filter((r) => failed.has(r.serviceArn)),
    (r) => `: ${r.state}${r.reason ? ` - ${r.reason}` : ''}`,
  );
  section(
    'Running the new value',
    sorted.filter((r) => r.state === 'COMPLETED'),
    () => '',
  );
  section(
    'Deploying now (watched to the end)',
    sorted.filter((r) => r.state === 'DEPLOYING' || r.state === 'SUPERSEDED'),
    () => '',
  );
  section(
    'Still on the previous value, not started',
    sorted.filter((r) => r.state === 'PLANNED' || r.state === 'HELD'),
    (r) => ` (wave ${r.wave ?? 1})`,
  );
  section(
    'Other services needing a person',
    sorted.filter((r) => !failed.has(r.serviceArn) && UNDELIVERED_STATES.has(r.state)),
    (r) => `: ${r.state}${r.reason ? ` - ${r.reason}` : ''}`,
  );
  lines.push('', ...operatorInstructions(rollout.rolloutId, tableName));
  lines.push('', `Details: npx ecs-redeployer status ${rollout.rolloutId}`);
  const subject = `ECS secret redeployer: ${what}: rollout HALTED in wave ${wave} of ${waves}`
    .replace(/\s+/g, ' ')
    .slice(0, 99);
  return { subject, message: lines.join('\n') };
}

export interface HaltDependencies {
  readonly store: RolloutStore;
  readonly notify?: (subject: string, message: string) => Promise<void>;
  /** The rollout table's name, for the instructions without the CLI. */
  readonly tableName?: string;
}

/**
 * Tells people a rollout halted, once per halt: notify first, then mark the halt notified (only
 * if it is still that halt), so a failure to send is retried and never lost.
 */
export async function announceHalt(
  deps: HaltDependencies,
  rolloutId: string,
): Promise<RolloutRecord['halted']> {
  const rollout = await deps.store.rollout(rolloutId);
  const halted = rollout?.halted;
  if (!rollout || rollout.status !== 'OPEN' || !halted || halted.notified) return undefined;
  if (deps.notify) {
    const { subject, message } = formatHaltNotification(
      rollout,
      await deps.store.services(rolloutId),
      deps.tableName,
    );
    await deps.notify(subject, message);
  }
  await deps.store.updateRollout(
    rolloutId,
    { halted: { ...halted, notified: true } },
    { onlyIf: 'open', haltedAt: halted.at },
  );
  return halted;
}

/** The notification of deployments paused at lifecycle hooks: where, and the exact commands. */
export function formatHookNotification(
  rollout: RolloutRecord,
  paused: readonly ServiceRecord[],
): { subject: string; message: string } {
  const what = `${rollout.change.type} ${rollout.change.name}`;
  const lines = [
    `Rollout ${rollout.rolloutId} of ${what}: ${paused.length} deployment(s) paused at a lifecycle hook`,
    `ARN: ${rollout.change.arn}`,
    '',
    'A pause hook waits for a person to continue or roll back the deployment. This is no',
    'failure; the rollout watches each deployment to its end once someone acts.',
  ];
  for (const record of paused) {
    lines.push('', `${short(record.serviceArn)}:`, `  ${record.reason ?? ''}`);
  }
  lines.push('', `Details: npx ecs-redeployer status ${rollout.rolloutId}`);
  const subject =
    `ECS secret redeployer: ${what}: ${paused.length} deployment(s) paused, need a person`
      .replace(/\s+/g, ' ')
      .slice(0, 99);
  return { subject, message: lines.join('\n') };
}

/**
 * Tells people what needs them now, once: a halt (announceHalt), and deployments newly paused at
 * a lifecycle hook (notified, then each marked so, if it is still that pause).
 */
export async function announce(
  deps: HaltDependencies & { readonly now: () => Date },
  rolloutId: string,
): Promise<{ halted?: RolloutRecord['halted']; paused: number }> {
  const halted = await announceHalt(deps, rolloutId);
  const rollout = await deps.store.rollout(rolloutId);
  if (!rollout || rollout.status !== 'OPEN') return { ...(halted && { halted }), paused: 0 };
  const paused = (await deps.store.services(rolloutId)).filter(
    (r) => isAwaitingHook(r) && r.hook !== undefined && r.hook.notified !== true,
  );
  if (paused.length > 0) {
    if (deps.notify) {
      const { subject, message } = formatHookNotification(rollout, paused);
      await deps.notify(subject, message);
    }
    const now = deps.now();
    for (const record of paused) {
      if (!record.hook) continue;
      await deps.store.putService(
        rolloutId,
        { ...record, hook: { ...record.hook, notified: true } },
        now,
        { states: ['NEEDS_ACTION'], updatedAt: record.updatedAt },
      );
    }
  }
  return { ...(halted && { halted }), paused: paused.length };
}

/** Open rollouts that are halted, waiting for a person (the `RolloutsHalted` gauge). */
export async function countHalted(store: RolloutStore): Promise<number> {
  const open = await store.rollouts({ open: true });
  return open.filter((rollout) => rollout.halted !== undefined).length;
}
