/**
 * The rollout engine: a Lambda durable function, one execution per rollout, named after it (the
 * change handler starts it; Lambda refuses a second execution of the same name). It looks at the
 * rollout, waits (a durable timer, woken early by ECS deployment events), looks again, until every
 * service reached an end; then it notifies once and writes the rollout's metrics.
 *
 * Thin on purpose: the workflow is in workflow.ts, each look in observe.ts, the end in summary.ts.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECSClient } from '@aws-sdk/client-ecs';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { type DurableContext, withDurableExecution } from '@aws/durable-execution-sdk-js';
import { loadConfig } from '../redeploy/config.js';
import { ConfigError } from '../redeploy/errors.js';
import { DynamoFlapGuard } from '../redeploy/flap-guard.js';
import { Logger } from '../redeploy/log.js';
import { MetricsWriter } from '../redeploy/metrics.js';
import { ecsBuckets, pacedEcs } from '../redeploy/pacing.js';
import type { DeployDependencies } from './deploy.js';
import { durableEngine } from './durable.js';
import { observeRollout } from './observe.js';
import { rolloutSettings } from './settings.js';
import { RolloutStore } from './store.js';
import { type RolloutSummary, finishRollout } from './summary.js';
import { type WorkflowSteps, parseRolloutInput, runRollout } from './workflow.js';

const logger = new Logger('ecs-secret-redeployer-rollout');
const config = loadConfig(process.env);
if (!config.rolloutTableName) {
  throw new ConfigError('ROLLOUT_TABLE_NAME: the rollout engine needs its table');
}
const store = new RolloutStore(new DynamoDBClient({}), config.rolloutTableName);
const flapGuard = config.flapTableName
  ? new DynamoFlapGuard(
      new DynamoDBClient({}),
      config.flapTableName,
      config.flapMaxDeployments,
      config.flapPeriodSeconds,
    )
  : undefined;
const buckets = ecsBuckets();
let ecs: ECSClient | undefined;
let ecsUpdate: ECSClient | undefined;
let sns: SNSClient | undefined;

function writeMetrics(summary: RolloutSummary): void {
  const functionName = process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'ecs-secret-redeployer-rollout';
  const { counts } = summary;
  new MetricsWriter(config.metricsNamespace, functionName).write({
    rolloutsEnded: 1,
    ...(summary.seconds !== undefined && { rolloutDuration: summary.seconds }),
    deploymentsCompleted: counts.COMPLETED ?? 0,
    deploymentsFailed: counts.FAILED ?? 0,
    deploymentsRolledBack: counts.ROLLED_BACK ?? 0,
    deploymentsStuck: counts.STUCK ?? 0,
    servicesOwed: summary.owed.length,
  });
}

function steps(): WorkflowSteps {
  const now = (): Date => new Date();
  const deps: DeployDependencies = {
    ecs: pacedEcs((ecs ??= new ECSClient({})), buckets),
    ecsUpdate: pacedEcs(
      (ecsUpdate ??= new ECSClient({
        maxAttempts: 1,
        requestHandler: { connectionTimeout: 5000, requestTimeout: 20_000 },
      })),
      buckets,
    ),
    store,
    ...(flapGuard && { flapGuard }),
    now,
    newToken: randomUUID,
    settings: rolloutSettings(config),
  };
  const topic = config.notificationTopicArn;
  return {
    observe: (rolloutId) => observeRollout(deps, rolloutId),
    finish: async (rolloutId) => {
      const summary = await finishRollout(
        {
          store,
          now,
          record: writeMetrics,
          ...(topic && {
            notify: async (subject: string, message: string) => {
              await (sns ??= new SNSClient({})).send(
                new PublishCommand({ TopicArn: topic, Subject: subject, Message: message }),
              );
            },
          }),
        },
        rolloutId,
      );
      if (summary) {
        const level = summary.owed.length > 0 ? 'error' : 'info';
        logger[level]('rollout ended', { summary });
      }
      return summary;
    },
    arm: (rolloutId, wakeId) => store.updateRollout(rolloutId, { wakeCallbackId: wakeId }),
  };
}

export const handler = withDurableExecution(async (event: unknown, context: DurableContext) => {
  const input = parseRolloutInput(event);
  if (typeof input === 'string') {
    // Not retried: no retry makes an unusable input usable.
    logger.warn('rollout input ignored', { reason: input });
    return { ignored: input };
  }
  logger.setCorrelationId(input.rolloutId);
  return runRollout(durableEngine(context), steps(), input);
});
