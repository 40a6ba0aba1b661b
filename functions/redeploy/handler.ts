/**
 * Lambda entry point. Three ways in:
 * - an SQS batch from the change queue (EventBridge rules deliver there; the queue's delivery
 *   delay is the settle window): each record's body is one EventBridge event;
 * - a direct EventBridge event (redrive from the CLI, or a rule targeting the function);
 * - `{ "action": "sweep" }` from the sweep schedule;
 * - an `ECS Deployment State Change` event (rollouts on): wakes the engines watching the service.
 *
 * Thin on purpose: parse, add log context, call the domain code, report (log line, metrics,
 * notification). Clients and caches live at module scope so warm invocations reuse them.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECSClient } from '@aws-sdk/client-ecs';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
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
import { runExactSweep } from '../rollout/sweep.js';
import { LambdaEngineControl } from '../rollout/engine-client.js';
import type { RolloutDependencies } from '../rollout/intake.js';
import { rolloutSettings, waveSettings } from '../rollout/settings.js';
import { RolloutStore } from '../rollout/store.js';
import { type DeploymentEventReport, isDeploymentEvent, wakeWatchers } from '../rollout/wake.js';
import { parseEnvelope } from './events.js';

const logger = new Logger('ecs-secret-redeployer');
const config = loadConfig(process.env);
// Default configuration: Region, credentials and endpoint (AWS_ENDPOINT_URL) come from the
// environment, so the function also runs against any AWS-compatible API. Every client is
// created on first use and then reused by warm invocations: the init phase carries only the
// code (npm run bench measures it), and invocations that never need a client never build it.
let ecs: ECSClient | undefined;
// UpdateService is not idempotent: its client never retries on its own (an unanswered call is
// settled by looking at the service), and gives up on a silent endpoint instead of hanging.
let ecsUpdate: ECSClient | undefined;
let lambda: LambdaClient | undefined;
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
const rolloutStore = config.rolloutTableName
  ? new RolloutStore(new DynamoDBClient({}), config.rolloutTableName)
  : undefined;

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
  const base = buildDependencies(
    {
      ecs: (ecs ??= new ECSClient({})),
      ecsUpdate: (ecsUpdate ??= new ECSClient({
        maxAttempts: 1,
        requestHandler: { connectionTimeout: 5000, requestTimeout: 20_000 },
      })),
      secretsManager: (secretsManager ??= new SecretsManagerClient({})),
    },
    config,
    homeScope(context, event),
    warm,
  );
  return {
    ...base,
    ...(flapGuard && { flapGuard }),
    ...(rolloutStore && { rollouts: rolloutDependencies(base, rolloutStore) }),
  };
}

function rolloutDependencies(base: Dependencies, store: RolloutStore): RolloutDependencies {
  return {
    ecs: base.ecs,
    ecsUpdate: base.ecsUpdate ?? base.ecs,
    store,
    ...(flapGuard && { flapGuard }),
    now: () => new Date(),
    newToken: randomUUID,
    settings: rolloutSettings(config),
    waves: waveSettings(config),
    secretsManager: base.secretsManager,
    ssm: (ssm ??= new SSMClient({})),
    home: base.home,
    ...(config.rolloutEngineArn && {
      engine: new LambdaEngineControl((lambda ??= new LambdaClient({})), config.rolloutEngineArn),
    }),
  };
}

function metrics(context: Context | undefined): MetricsWriter {
  const functionName =
    context?.functionName ?? process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'ecs-secret-redeployer';
  return new MetricsWriter(config.metricsNamespace, functionName);
}

/** Sends a rollout's notification (the sweep finishing a rollout without an engine). */
async function notify(subject: string, message: string): Promise<void> {
  if (!config.notificationTopicArn) return;
  await (sns ??= new SNSClient({})).send(
    new PublishCommand({
      TopicArn: config.notificationTopicArn,
      Subject: subject,
      Message: message,
    }),
  );
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

/** Whether the handler announces the change itself (otherwise the rollout engine does, at its end). */
function announcedHere(report: ChangeReport): boolean {
  const rollout = report.rollout;
  if (rollout === undefined) return true;
  // A rollout with nothing left to watch ended here; one that joined another event's rollout
  // is announced by that one.
  return rollout.created && rollout.owed === 0;
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
  if (report.rollout?.engineError !== undefined) {
    logger.error('rollout not watched: its engine could not be started; the sweep restarts it', {
      rolloutId: report.rollout.id,
      error: report.rollout.engineError,
    });
  }
  metrics(context).write({
    changesSeen: 1,
    servicesRedeployed: report.redeployed.length,
    servicesSkipped: report.skipped.length,
    servicesFailed: report.failed.length,
    servicesBraked: report.braked.length,
    servicesFlapGuarded: report.flapGuarded.length,
    // Both need a person: a controller UpdateService cannot drive, a deleted item still used.
    servicesNeedingAction: report.needsAction.length + report.stillReferenced.length,
    skippedBy: countBy(report.skipped, (entry) => entry.code ?? 'other'),
    ...(report.rollout?.engineError !== undefined && { rolloutsUnwatched: 1 }),
    ...(report.sweepErrors !== undefined && { sweepErrors: report.sweepErrors.length }),
  });
  if (config.notificationTopicArn && worthNotifying(report) && announcedHere(report)) {
    try {
      await publishNotification((sns ??= new SNSClient({})), config.notificationTopicArn, report);
    } catch (error) {
      logger.warn('notification not sent', { error: errorMessage(error) });
    }
  }
}

/** Sends a change back to the queue, delayed, for the services the brakes held back. */
async function deferBraked(event: unknown, report: ChangeReport): Promise<void> {
  // With rollouts, held services stay owed by the rollout and its engine deploys them.
  if (report.braked.length === 0 || report.dryRun || !config.changeQueueUrl) return;
  if (report.rollout !== undefined) return;
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

/** An ECS deployment event: wakes the rollouts watching the service. */
async function handleDeploymentEvent(event: unknown): Promise<DeploymentEventReport | undefined> {
  const envelope = parseEnvelope(event);
  if (typeof envelope === 'string' || !isDeploymentEvent(envelope) || !rolloutStore) {
    return undefined;
  }
  const report = await wakeWatchers(envelope, {
    store: rolloutStore,
    ...(config.rolloutEngineArn && {
      engine: new LambdaEngineControl((lambda ??= new LambdaClient({})), config.rolloutEngineArn),
    }),
  });
  logger.info('deployment event', { ...report });
  return report;
}

async function handleOne(
  event: unknown,
  context: Context | undefined,
): Promise<Report | DeploymentEventReport> {
  const eventId = isObject(event) && 'id' in event ? String(event.id) : undefined;
  logger.setCorrelationId(eventId);
  const deployment = await handleDeploymentEvent(event);
  if (deployment) return deployment;
  const report = await processEvent(event, dependencies(context, event));
  await publish(report, context);
  if (report.outcome === 'handled') await deferBraked(event, report);
  throwIfFailed(report, eventId);
  return report;
}

async function handleSweep(event: Record<string, unknown>, context: Context | undefined) {
  const sweepId = `sweep:${typeof event.id === 'string' ? event.id : new Date().toISOString()}`;
  logger.setCorrelationId(sweepId);
  const deps = { ...dependencies(context, event), ssm: (ssm ??= new SSMClient({})) };
  const report = deps.rollouts
    ? await runExactSweep({ ...deps, rollouts: deps.rollouts, finish: { notify } }, sweepId)
    : await runSweep(deps, sweepId);
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
): Promise<Report | DeploymentEventReport | SQSBatchResponse> => {
  if (context) logger.addContext(context);
  if (isSqsEvent(event)) return handleBatch(event, context);
  if (isObject(event) && event.action === 'sweep') return handleSweep(event, context);
  return handleOne(event, context);
};
