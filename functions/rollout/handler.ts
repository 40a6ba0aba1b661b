/**
 * The rollout engine: a Lambda durable function, one execution per rollout, named after it (the
 * change handler starts it; Lambda refuses a second execution of the same name). It looks at the
 * rollout, waits (a durable timer, woken early by ECS deployment events), looks again, until every
 * service reached an end; then it notifies once and writes the rollout's metrics.
 *
 * A failure or a watched alarm halts a rollout in waves: it notifies once and waits for an operator
 * (resume or abort, control.ts), re-counting the halted rollouts for the alarm as it waits.
 *
 * Thin on purpose: the workflow is in workflow.ts, each look in observe.ts, the end in summary.ts.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { ECSClient } from '@aws-sdk/client-ecs';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { type DurableContext, withDurableExecution } from '@aws/durable-execution-sdk-js';
import { loadConfig } from '../redeploy/config.js';
import { ConfigError } from '../redeploy/errors.js';
import { DynamoFlapGuard } from '../redeploy/flap-guard.js';
import { Logger } from '../redeploy/log.js';
import { MetricsWriter } from '../redeploy/metrics.js';
import { ecsBuckets, pacedEcs } from '../redeploy/pacing.js';
import { durableEngine } from './durable.js';
import { alarmStates } from './alarms.js';
import { rolloutSettings } from './settings.js';
import { RolloutStore } from './store.js';
import { rolloutSteps } from './steps.js';
import type { RolloutSummary } from './summary.js';
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
let cloudwatch: CloudWatchClient | undefined;

const metrics = (): MetricsWriter =>
  new MetricsWriter(
    config.metricsNamespace,
    process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'ecs-secret-redeployer-rollout',
  );

function writeMetrics(summary: RolloutSummary): void {
  const { counts } = summary;
  metrics().write({
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
  const topic = config.notificationTopicArn;
  return rolloutSteps({
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
    alarms: (names) => alarmStates((cloudwatch ??= new CloudWatchClient({})), names),
    tableName: config.rolloutTableName,
    record: writeMetrics,
    recordHalted: (count) => {
      metrics().write({ rolloutsHalted: count });
    },
    log: (level, message, data) => {
      logger[level](message, data);
    },
    ...(topic && {
      notify: async (subject: string, message: string) => {
        await (sns ??= new SNSClient({})).send(
          new PublishCommand({ TopicArn: topic, Subject: subject, Message: message }),
        );
      },
    }),
  });
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
