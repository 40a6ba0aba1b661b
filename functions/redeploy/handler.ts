/**
 * Lambda entry point: invoked by EventBridge with a Parameter Store or Secrets Manager change.
 *
 * Thin on purpose: parse, add log context, call the domain code, report. Clients and the task
 * definition cache live at module scope so warm invocations reuse them.
 */
import { ECSClient } from '@aws-sdk/client-ecs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { type Scope, scopeOfArn } from './arn.js';
import { loadConfig } from './config.js';
import { buildDependencies, newWarmState } from './environment.js';
import { RedeployFailedError } from './errors.js';
import { Logger } from './log.js';
import { type Report, processEvent } from './process.js';

const logger = new Logger('ecs-secret-redeployer');
const config = loadConfig(process.env);
// Default configuration: Region, credentials and endpoint (AWS_ENDPOINT_URL) come from the
// environment, so the function also runs against any AWS-compatible API.
const ecs = new ECSClient({});
const secretsManager = new SecretsManagerClient({});
// Caches and ECS pacing kept across warm invocations (see environment.ts).
const warm = newWarmState();

function homeScope(context: Context | undefined, event: unknown): Scope {
  const fromArn = context?.invokedFunctionArn ? scopeOfArn(context.invokedFunctionArn) : undefined;
  if (fromArn) return fromArn;
  // Invoked outside Lambda (local runs, tests): the Region from the environment, the account
  // from the event.
  const account =
    typeof event === 'object' && event !== null && 'account' in event ? String(event.account) : '';
  return {
    partition: 'aws',
    region: process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? '',
    account,
  };
}

export const handler = async (event: unknown, context?: Context): Promise<Report> => {
  if (context) logger.addContext(context);
  const eventId =
    typeof event === 'object' && event !== null && 'id' in event ? String(event.id) : undefined;
  logger.setCorrelationId(eventId);

  const report = await processEvent(
    event,
    buildDependencies({ ecs, secretsManager }, config, homeScope(context, event), warm),
  );

  if (report.outcome === 'ignored') {
    // Not retried: no retry can make an unusable event usable. Malformed input is a warning.
    const level = report.event === undefined ? 'warn' : 'info';
    logger[level]('event ignored', { reason: report.reason, event: report.event });
    return report;
  }
  const level =
    report.failed.length > 0 ? 'error' : report.stillReferenced.length > 0 ? 'warn' : 'info';
  logger[level]('change handled', { report });
  if (report.failed.length > 0) {
    // Every other service was handled; throwing makes Lambda retry the event (services already
    // redeployed are skipped then) and finally send it to the dead-letter queue.
    throw new RedeployFailedError(
      `${report.failed.length} failure(s) handling event ${eventId ?? '?'}: ` +
        report.failed.map((f) => `${f.target}: ${f.error}`).join('; '),
    );
  }
  return report;
};
