/**
 * The end of a rollout: close it (once, whoever gets there first), and say what became of every
 * service: one notification, metrics, a log line. Built from the records only, so it can never
 * contain a secret or parameter value.
 */
import type { ChangeSummary, RolloutRecord, ServiceRecord, ServiceState } from './model.js';
import { UNDELIVERED_STATES, countStates } from './model.js';
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
 * Reports and closes the rollout if it is still open. The notification goes out before the
 * rollout is closed, so a failure to send it fails the step and the engine retries: it may be
 * sent twice, never lost. Metrics are written by the caller that closes it, once.
 */
export async function finishRollout(
  deps: FinishDependencies,
  rolloutId: string,
): Promise<RolloutSummary | undefined> {
  const rollout = await deps.store.rollout(rolloutId);
  if (!rollout) return undefined;
  const records = await deps.store.services(rolloutId);
  if (rollout.status !== 'OPEN') return summarise(rollout, records);
  const now = deps.now();
  const summary = summarise({ ...rollout, status: 'DONE', endedAt: now.toISOString() }, records);
  if (deps.notify) {
    const { subject, message } = formatRolloutNotification(summary);
    await deps.notify(subject, message);
  }
  if (await deps.store.closeRollout(rolloutId, 'DONE', now)) deps.record?.(summary);
  return summary;
}
