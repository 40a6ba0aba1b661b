/**
 * The straightforward implementation the function is compared with: one call at a time, no
 * cache (each service's task definition is described again), the SDK's retries as configured.
 * It reuses the function's pure helpers (summarise, extractReferences, isAffected, decide) and
 * its single UpdateService call, so both reach the same decisions and only the calling
 * strategy differs.
 */
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ListClustersCommand,
  ListServicesCommand,
} from '@aws-sdk/client-ecs';
import { type Scope, scopeOfArn } from '../functions/redeploy/arn.js';
import { type Change, isAffected } from '../functions/redeploy/change.js';
import { summarise } from '../functions/redeploy/discovery.js';
import { errorMessage } from '../functions/redeploy/errors.js';
import { decide, forceNewDeployment } from '../functions/redeploy/redeploy.js';
import { extractReferences } from '../functions/redeploy/references.js';
import type { EcsLike } from '../functions/redeploy/task-definitions.js';

export interface BaselineReport {
  readonly redeployed: string[];
  readonly needsAction: string[];
  readonly skipped: string[];
  readonly failed: { target: string; error: string }[];
}

export async function baselineApply(
  ecs: EcsLike,
  change: Change,
  home: Scope,
  configuredClusters: readonly string[] = [],
): Promise<BaselineReport> {
  const report: BaselineReport = { redeployed: [], needsAction: [], skipped: [], failed: [] };
  const clusters = [...configuredClusters];
  if (clusters.length === 0) {
    let nextToken: string | undefined;
    do {
      const page = await ecs.send(new ListClustersCommand({ maxResults: 100, nextToken }));
      clusters.push(...(page.clusterArns ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
  }

  for (const cluster of clusters) {
    let nextToken: string | undefined;
    do {
      let arns: string[] = [];
      try {
        const page = await ecs.send(
          new ListServicesCommand({ cluster, maxResults: 100, nextToken }),
        );
        arns = page.serviceArns ?? [];
        nextToken = page.nextToken;
      } catch (error) {
        report.failed.push({ target: cluster, error: errorMessage(error) });
        nextToken = undefined;
      }
      for (let i = 0; i < arns.length; i += 10) {
        let services;
        try {
          ({ services = [] } = await ecs.send(
            new DescribeServicesCommand({ cluster, services: arns.slice(i, i + 10) }),
          ));
        } catch (error) {
          report.failed.push({ target: `${cluster} batch ${i / 10}`, error: errorMessage(error) });
          continue;
        }
        for (const described of services) {
          const service = summarise(described);
          if (!service) continue;
          let affected = false;
          try {
            for (const arn of service.taskDefinitions) {
              const { taskDefinition } = await ecs.send(
                new DescribeTaskDefinitionCommand({ taskDefinition: arn }),
              );
              const scope = scopeOfArn(arn) ?? home;
              const references = taskDefinition ? extractReferences(taskDefinition, scope) : [];
              if (references.some((reference) => isAffected(reference, change))) affected = true;
            }
          } catch (error) {
            report.failed.push({ target: service.arn, error: errorMessage(error) });
            continue;
          }
          if (!affected) continue;
          const decision = decide(service, change);
          if (decision.kind === 'needs-action') report.needsAction.push(service.arn);
          else if (decision.kind !== 'redeploy') report.skipped.push(service.arn);
          else {
            const outcome = await forceNewDeployment(ecs, service);
            if (outcome.kind === 'redeployed') report.redeployed.push(service.arn);
            else if (outcome.kind === 'skip') report.skipped.push(service.arn);
            else report.failed.push({ target: service.arn, error: outcome.error });
          }
        }
      }
    } while (nextToken);
  }
  return report;
}
