/**
 * Lambda entry point. Three ways in:
 * - an SQS batch from the change queue (EventBridge rules deliver there; the queue's delivery
 *   delay is the settle window): each record's body is one EventBridge event;
 * - a direct EventBridge event (redrive from the CLI, or a rule targeting the function);
 * - `{ "action": "sweep" }` from the sweep schedule.
 *
 * Thin on purpose: parse, add log context, call the domain code, report (log line, metrics,
 * notification). Clients and caches live at module scope so warm invocations reuse them.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { ChangeMessageVisibilityCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { type Scope, scopeOfArn } from './arn.js';
import { loadConfig } from './config.js';
import { buildDependencies, newWarmState } from './environment.js';
import { RedeployFailedError, errorMessage } from './errors.js';
import { DynamoFlapGuard } from './flap-guard.js';
import { Logger } from './log.js';
import { MetricsWriter } from './metrics.js';
import { publishNotification, worthNotifying } from './notify.js';
import { type ChangeReport, type Dependencies, type Report, processEvent } from './process.js';
import { runSweep } from './sweep.js';

const logger = new Logger('ecs-secret-redeployer');
const config = loadConfig(process.env);
// Default configuration: Region, credentials and endpoint (AWS_ENDPOINT_URL) come from the
// environment, so the function also runs against any AWS-compatible API. Every client is
// created on first use and then reused by warm invocations: the init phase carries only the
// code (npm run bench measures it), and invocations that never need a client never build it.
let ecs: ECSClient | undefined;
let secretsManager: SecretsManagerClient | undefined;
let ssm: SSMClient | undefined;
let sqs: SQSClient | undefined;
let sns: SNSClient | undefined;
const flapGuard = config.flapTableName
  ? new DynamoFlapGuard(
      new DynamoDBClient({}),
      config.flapTableName,
      config.flapMaxDeployments,
      config.flapPeriodSeconds,
    )
  : undefined;
// Caches and ECS pacing kept across warm invocations (see environment.ts).
const warm = newWarmState();

function homeScope(context: Context | undefined, event: unknown): Scope {
  const fromArn = context?.invokedFunctionArn ? scopeOfArn(context.invokedFunctionArn) : undefined;
  if (fromArn) return fromArn;
  // Invoked outside Lambda (local runs, tests): the Region from the environment, the account
  // from the event.
  const account = isObject(event) && 'account' in event ? String(event.account) : '';
  return {
    partition: 'aws',
    region: process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? '',
    account,
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function isSqsEvent(event: unknown): event is SQSEvent {
  return (
    isObject(event) &&
    Array.isArray(event.Records) &&
    event.Records.length > 0 &&
    event.Records.every((record) => isObject(record) && record.eventSource === 'aws:sqs')
  );
}

function dependencies(context: Context | undefined, event: unknown): Dependencies {
  return {
    ...buildDependencies(
      {
        ecs: (ecs ??= new ECSClient({})),
        secretsManager: (secretsManager ??= new SecretsManagerClient({})),
      },
      config,
      homeScope(context, event),
      warm,
    ),
    ...(flapGuard && { flapGuard }),
  };
}

function metrics(context: Context | undefined): MetricsWriter {
  const functionName =
    context?.functionName ?? process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'ecs-secret-redeployer';
  return new MetricsWriter(config.metricsNamespace, functionName);
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

/** Logs, measures and announces a report. */
async function publish(report: Report, context: Context | undefined): Promise<void> {
  if (report.outcome === 'ignored') {
    // Not retried: no retry can make an unusable event usable. Malformed input is a warning.
    const level = report.code === 'malformed' ? 'warn' : 'info';
    logger[level]('event ignored', {
      code: report.code,
      reason: report.reason,
      event: report.event,
    });
    metrics(context).write({ changesIgnored: 1, ignoredBy: { [report.code]: 1 } });
    return;
  }
  const level =
    report.failed.length > 0
      ? 'error'
      : report.stillReferenced.length + report.flapGuarded.length + report.warnings.length > 0
        ? 'warn'
        : 'info';
  logger[level]('change handled', { report });
  metrics(context).write({
    changesSeen: 1,
    servicesRedeployed: report.redeployed.length,
    servicesSkipped: report.skipped.length,
    servicesFailed: report.failed.length,
    servicesBraked: report.braked.length,
    servicesFlapGuarded: report.flapGuarded.length,
    servicesNeedingAction: report.needsAction.length,
    skippedBy: countBy(report.skipped, (entry) => entry.code ?? 'other'),
  });
  if (config.notificationTopicArn && worthNotifying(report)) {
    try {
      await publishNotification((sns ??= new SNSClient({})), config.notificationTopicArn, report);
    } catch (error) {
      logger.warn('notification not sent', { error: errorMessage(error) });
    }
  }
}

/** Sends a change back to the queue, delayed, for the services the brakes held back. */
async function deferBraked(event: unknown, report: ChangeReport): Promise<void> {
  if (report.braked.length === 0 || report.dryRun || !config.changeQueueUrl) return;
  await (sqs ??= new SQSClient({})).send(
    new SendMessageCommand({
      QueueUrl: config.changeQueueUrl,
      MessageBody: JSON.stringify(event),
      DelaySeconds: config.brakeRetrySeconds,
    }),
  );
  logger.info('change deferred', {
    services: report.braked.length,
    delaySeconds: config.brakeRetrySeconds,
  });
}

function throwIfFailed(report: Report, id: string | undefined): void {
  if (report.outcome === 'handled' && report.failed.length > 0) {
    // Every other service was handled; throwing makes the platform retry the event (services
    // already redeployed are skipped then) and finally dead-letter it.
    throw new RedeployFailedError(
      `${report.failed.length} failure(s) handling event ${id ?? '?'}: ` +
        report.failed.map((f) => `${f.target}: ${f.error}`).join('; '),
    );
  }
}

async function handleOne(event: unknown, context: Context | undefined): Promise<Report> {
  const eventId = isObject(event) && 'id' in event ? String(event.id) : undefined;
  logger.setCorrelationId(eventId);
  const report = await processEvent(event, dependencies(context, event));
  await publish(report, context);
  if (report.outcome === 'handled') await deferBraked(event, report);
  throwIfFailed(report, eventId);
  return report;
}

async function handleSweep(event: Record<string, unknown>, context: Context | undefined) {
  const sweepId = `sweep:${typeof event.id === 'string' ? event.id : new Date().toISOString()}`;
  logger.setCorrelationId(sweepId);
  const report = await runSweep(
    { ...dependencies(context, event), ssm: (ssm ??= new SSMClient({})) },
    sweepId,
  );
  await publish(report, context);
  throwIfFailed(report, sweepId);
  return report;
}

/** Seconds before a failed change is tried again (instead of the queue's long visibility). */
const RETRY_AFTER_SECONDS = 60;

/** Makes a failed record visible again in a minute; on any error the queue's timeout applies. */
async function retrySoon(receiptHandle: string): Promise<void> {
  if (!config.changeQueueUrl) return;
  try {
    await (sqs ??= new SQSClient({})).send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: config.changeQueueUrl,
        ReceiptHandle: receiptHandle,
        VisibilityTimeout: RETRY_AFTER_SECONDS,
      }),
    );
  } catch (error) {
    logger.warn('could not shorten the retry delay', { error: errorMessage(error) });
  }
}

async function handleBatch(
  event: SQSEvent,
  context: Context | undefined,
): Promise<SQSBatchResponse> {
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  // One at a time: a later record sees the deployments an earlier one started (coalescing).
  for (const record of event.Records) {
    let body: unknown;
    try {
      body = JSON.parse(record.body);
    } catch {
      body = record.body; // handled as malformed: logged, not retried
    }
    try {
      await handleOne(body, context);
    } catch (error) {
      logger.error('change failed; it will be retried', {
        messageId: record.messageId,
        error: errorMessage(error),
      });
      batchItemFailures.push({ itemIdentifier: record.messageId });
      await retrySoon(record.receiptHandle);
    }
  }
  return { batchItemFailures };
}

export const handler = async (
  event: unknown,
  context?: Context,
): Promise<Report | SQSBatchResponse> => {
  if (context) logger.addContext(context);
  if (isSqsEvent(event)) return handleBatch(event, context);
  if (isObject(event) && event.action === 'sweep') return handleSweep(event, context);
  return handleOne(event, context);
};
