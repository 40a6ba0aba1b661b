/**
 * One readable SNS message per change: what changed, and what happened to each service that uses
 * it. Built from the report only, so it can never contain a secret or parameter value.
 */
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { ChangeReport, ServiceEntry } from './process.js';

export type SnsLike = Pick<SNSClient, 'send'>;

/** Whether a report is worth a message: some service uses the change, or something failed. */
export function worthNotifying(report: ChangeReport): boolean {
  return (
    report.redeployed.length +
      report.skipped.length +
      report.needsAction.length +
      report.stillReferenced.length +
      report.braked.length +
      report.flapGuarded.length +
      report.failed.length >
    0
  );
}

const serviceName = (arn: string): string => arn.split('/').slice(-2).join('/');

export function formatNotification(report: ChangeReport): { subject: string; message: string } {
  const change = report.change as { type?: string; name?: string; arn?: string; trigger?: string };
  const sweep = change.type === 'sweep';
  const what = sweep
    ? 'sweep for missed changes'
    : `${change.type ?? 'change'} ${change.name ?? '?'}`;
  const problems = report.failed.length + report.needsAction.length + report.stillReferenced.length;
  const verb = report.dryRun ? 'would redeploy' : 'redeployed';
  const headline =
    `${what}: ${verb} ${report.redeployed.length}` +
    (problems > 0 ? `, ${problems} need attention` : '');
  const lines = [
    sweep
      ? 'Sweep: services still running a value that changed after their newest deployment'
      : `${change.trigger ?? 'Change'} of ${what}`,
    sweep ? '' : `ARN: ${change.arn ?? '?'}`,
    report.dryRun ? 'DRY RUN: nothing was changed.' : '',
    '',
    `Redeployed (${report.redeployed.length})${report.dryRun ? ', would be' : ''}:`,
    ...report.redeployed.map((arn) => `  - ${serviceName(arn)}`),
  ];
  const section = (title: string, entries: readonly ServiceEntry[]): void => {
    if (entries.length === 0) return;
    lines.push('', `${title} (${entries.length}):`);
    for (const entry of entries) lines.push(`  - ${serviceName(entry.service)}: ${entry.reason}`);
  };
  if (report.failed.length > 0) {
    lines.push('', `FAILED (${report.failed.length}):`);
    for (const failure of report.failed) lines.push(`  - ${failure.target}: ${failure.error}`);
  }
  section('Needs action', report.needsAction);
  section(
    'Still referencing a deleted item (new tasks will fail to start)',
    report.stillReferenced,
  );
  section('Held back by the deployment cap (retried later)', report.braked);
  section('Held back by the flap guard', report.flapGuarded);
  section('Skipped', report.skipped);
  lines.push(
    '',
    `${report.servicesScanned} services scanned in ${report.clustersScanned} clusters.`,
  );
  // SNS subjects: fewer than 100 characters, no line breaks.
  const subject = `ECS secret redeployer: ${headline}`.replace(/\s+/g, ' ').slice(0, 99);
  return { subject, message: lines.filter((line, i) => line !== '' || i > 2).join('\n') };
}

export async function publishNotification(
  sns: SnsLike,
  topicArn: string,
  report: ChangeReport,
): Promise<void> {
  const { subject, message } = formatNotification(report);
  await sns.send(new PublishCommand({ TopicArn: topicArn, Subject: subject, Message: message }));
}
