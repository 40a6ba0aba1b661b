/**
 * The missed-event sweep. Parameter Store events are best effort and any event can be lost:
 * on a schedule, find the services whose newest deployment predates the last change of a secret
 * or parameter they reference, and redeploy them through the same path as a change event
 * (dry run, brakes, flap guard and opt-out apply). Metadata calls only.
 *
 * Last change of a secret: the creation time of its AWSCURRENT version (ListSecretVersionIds).
 * Last change of a parameter: LastModifiedDate (DescribeParameters). Only secrets and
 * parameters of the function's own account and Region are checked.
 */
import { ListSecretVersionIdsCommand } from '@aws-sdk/client-secrets-manager';
import { DescribeParametersCommand, type SSMClient } from '@aws-sdk/client-ssm';
import {
  type ParameterId,
  type SecretId,
  parameterArn,
  sameScope,
  secretIdFromFullArn,
  secretLookupId,
} from './arn.js';
import { AWSCURRENT, AWSPREVIOUS, type Change, isAffected } from './change.js';
import { errorMessage, errorName } from './errors.js';
import { type ChangeReport, type Dependencies, RedeployRun } from './process.js';
import type { Reference } from './references.js';
import type { ServiceSummary } from './discovery.js';

export type SsmLike = Pick<SSMClient, 'send'>;

export interface SweepDependencies extends Dependencies {
  readonly ssm: SsmLike;
}

/** DescribeParameters takes at most 50 filter values; each name is asked in both forms. */
const PARAMETER_BATCH = 25;

export async function runSweep(deps: SweepDependencies, sweepId: string): Promise<ChangeReport> {
  const { config, home } = deps;
  const run = new RedeployRun(deps);
  const inUse: { service: ServiceSummary; references: Reference[] }[] = [];
  await run.discover(async (service) => {
    const { references, errors } = await run.references(service);
    // A sweep cannot tell; a later sweep or the change event will. Not a failure.
    run.warnings.push(...errors.map((e) => `${e.target}: ${e.error}`));
    inUse.push({ service, references });
  });

  const secretKeys = new Map<string, string>(); // target resource -> SecretId for the API
  const parameterNames = new Set<string>();
  for (const { references } of inUse) {
    for (const ref of references) {
      if (ref.kind === 'secret') {
        if (!sameScope(ref.target, home) || ref.versionId !== undefined) continue;
        const stage = ref.versionStage ?? AWSCURRENT;
        if (stage !== AWSCURRENT && stage !== AWSPREVIOUS) continue;
        if (!matchesPrefix(ref.target.resource, config.secretNamePrefixes)) continue;
        secretKeys.set(ref.target.resource, secretLookupId(ref.target));
      } else if (
        sameScope(ref.parameter, home) &&
        matchesPrefix(ref.parameter.name, config.parameterNamePrefixes)
      ) {
        parameterNames.add(ref.parameter.name);
      }
    }
  }

  const secretChanged = new Map<string, { at: Date; id: SecretId }>();
  for (const [resource, secretId] of secretKeys) {
    try {
      const found = await lastSecretChange(deps, secretId);
      if (found) secretChanged.set(resource, found);
    } catch (error) {
      run.warnings.push(`secret ${resource}: ${errorMessage(error)}`);
    }
  }
  const parameterChanged = new Map<string, Date>();
  const names = [...parameterNames];
  for (let i = 0; i < names.length; i += PARAMETER_BATCH) {
    const batch = names.slice(i, i + PARAMETER_BATCH);
    try {
      for (const [name, at] of await lastParameterChanges(deps.ssm, batch)) {
        parameterChanged.set(name, at);
      }
    } catch (error) {
      run.warnings.push(`parameters ${batch.join(', ')}: ${errorMessage(error)}`);
    }
  }

  const now = deps.now?.() ?? new Date();
  await Promise.all(
    inUse.map(async ({ service, references }) => {
      let latest: Change | undefined;
      for (const ref of references) {
        const change = changeFor(ref, secretChanged, parameterChanged, home, sweepId);
        if (change && (latest === undefined || change.time > latest.time)) latest = change;
      }
      const newest = service.newestDeploymentAt;
      if (latest && (newest === undefined || newest < latest.time)) {
        const change = latest;
        await run.handle(
          service,
          change,
          references.filter((ref) => isAffected(ref, change)),
        );
      }
    }),
  );
  return run.report({
    type: 'sweep',
    eventId: sweepId,
    time: now.toISOString(),
    secretsChecked: secretChanged.size,
    parametersChecked: parameterChanged.size,
  });
}

function matchesPrefix(name: string, prefixes: readonly string[]): boolean {
  return prefixes.length === 0 || prefixes.some((prefix) => name.startsWith(prefix));
}

async function lastSecretChange(
  deps: SweepDependencies,
  secretId: string,
): Promise<{ at: Date; id: SecretId } | undefined> {
  let nextToken: string | undefined;
  let arn: string | undefined;
  let at: Date | undefined;
  try {
    do {
      const page = await deps.secretsManager.send(
        new ListSecretVersionIdsCommand({
          SecretId: secretId,
          MaxResults: 100,
          NextToken: nextToken,
        }),
      );
      arn ??= page.ARN;
      for (const version of page.Versions ?? []) {
        if (version.VersionStages?.includes(AWSCURRENT) && version.CreatedDate) {
          at = version.CreatedDate;
        }
      }
      nextToken = page.NextToken;
    } while (nextToken);
  } catch (error) {
    if (errorName(error) === 'ResourceNotFoundException') return undefined;
    throw error;
  }
  const id = arn === undefined ? undefined : secretIdFromFullArn(arn);
  return at && id ? { at, id } : undefined;
}

async function lastParameterChanges(ssm: SsmLike, names: string[]): Promise<Map<string, Date>> {
  const changed = new Map<string, Date>();
  const values = names.flatMap((name) => [name, `/${name}`]);
  let nextToken: string | undefined;
  do {
    const page = await ssm.send(
      new DescribeParametersCommand({
        ParameterFilters: [{ Key: 'Name', Option: 'Equals', Values: values }],
        MaxResults: 50,
        NextToken: nextToken,
      }),
    );
    for (const parameter of page.Parameters ?? []) {
      if (parameter.Name && parameter.LastModifiedDate) {
        changed.set(parameter.Name.replace(/^\//, ''), parameter.LastModifiedDate);
      }
    }
    nextToken = page.NextToken;
  } while (nextToken);
  return changed;
}

function changeFor(
  ref: Reference,
  secrets: ReadonlyMap<string, { at: Date; id: SecretId }>,
  parameters: ReadonlyMap<string, Date>,
  home: Dependencies['home'],
  sweepId: string,
): Change | undefined {
  const base = { eventId: sweepId, action: 'redeploy' as const };
  if (ref.kind === 'secret') {
    if (!sameScope(ref.target, home) || ref.versionId !== undefined) return undefined;
    const stage = ref.versionStage ?? AWSCURRENT;
    if (stage !== AWSCURRENT && stage !== AWSPREVIOUS) return undefined; // a label we cannot date
    const found = secrets.get(ref.target.resource);
    if (!found) return undefined;
    return {
      ...base,
      kind: 'secret',
      secret: found.id,
      stages: [AWSCURRENT, AWSPREVIOUS],
      time: found.at,
      trigger: `Sweep: AWSCURRENT changed ${found.at.toISOString()}, after the newest deployment`,
    };
  }
  const at = parameters.get(ref.parameter.name);
  if (!at || !sameScope(ref.parameter, home)) return undefined;
  const parameter: ParameterId = ref.parameter;
  return {
    ...base,
    kind: 'parameter',
    parameter,
    time: at,
    trigger: `Sweep: ${parameterArn(parameter)} changed ${at.toISOString()}, after the newest deployment`,
  };
}
