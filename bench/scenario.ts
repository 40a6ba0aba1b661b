/**
 * One benchmark scenario, run in a fresh Node.js process (bundled by bench/run.ts with the
 * function's own esbuild options) so that its memory high-water mark is its own. Prints one
 * line: RESULT_MARKER followed by a ScenarioResult as JSON.
 *
 * Usage: node --expose-gc scenario.mjs '{"name":"large-cold"}'
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  DescribeServicesCommand,
  type ECSClient,
  ListServicesCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { Scope } from '../functions/redeploy/arn.js';
import type { Change } from '../functions/redeploy/change.js';
import { loadConfig } from '../functions/redeploy/config.js';
import { interpret, parseEnvelope } from '../functions/redeploy/events.js';
import {
  type ChangeReport,
  type Dependencies,
  applyChange,
  handleChange,
  processEvent,
} from '../functions/redeploy/process.js';
import { buildDependencies, newWarmState } from '../functions/redeploy/environment.js';
import { ecsBuckets } from '../functions/redeploy/pacing.js';
import { resolveSecretChange } from '../functions/redeploy/secrets.js';
import { DEFAULT_ROLLOUT_SETTINGS } from '../functions/rollout/deploy.js';
import { LambdaEngineControl } from '../functions/rollout/engine-client.js';
import { RolloutStore } from '../functions/rollout/store.js';
import { SimulatedAws } from '../test/sim/index.js';
import {
  type BuiltAccount,
  largeAccount,
  secretLabelUpdatedEvent,
  smallAccount,
} from './accounts.js';
import { ACCOUNT, type OperationCounts, REGION } from './aws-sim.js';
import { baselineApply } from './baseline.js';
import {
  RESULT_MARKER,
  type ScenarioResult,
  type ScenarioSpec,
  type SdkOperationStats,
} from './protocol.js';

const HOME: Scope = { partition: 'aws', region: REGION, account: ACCOUNT };
const MB = 1024 * 1024;

function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
  }
}

function instrument(
  ecs: ECSClient,
  secretsManager: SecretsManagerClient,
): Record<string, SdkOperationStats> {
  const stats: Record<string, SdkOperationStats> = {};
  const record = (operation: string, metadata: unknown, error: unknown): void => {
    const entry = (stats[operation] ??= {
      commands: 0,
      attempts: 0,
      retryDelayMs: 0,
      maxAttempts: 0,
      errors: {},
    });
    const meta = (metadata ?? {}) as { attempts?: number; totalRetryDelay?: number };
    entry.commands += 1;
    entry.attempts += meta.attempts ?? 1;
    entry.retryDelayMs += meta.totalRetryDelay ?? 0;
    entry.maxAttempts = Math.max(entry.maxAttempts, meta.attempts ?? 1);
    if (error !== undefined) {
      const name = error instanceof Error ? error.name : 'unknown';
      entry.errors[name] = (entry.errors[name] ?? 0) + 1;
    }
  };
  // The initialize step runs above the retry loop: it sees each command once, with its
  // final outcome and the SDK's own count of attempts and backoff.
  ecs.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = `ecs.${(context.commandName ?? '?').replace(/Command$/, '')}`;
      try {
        const result = await next(args);
        record(operation, result.output.$metadata, undefined);
        return result;
      } catch (error) {
        record(operation, (error as { $metadata?: unknown }).$metadata, error);
        throw error;
      }
    },
    { step: 'initialize', name: 'benchStats' },
  );
  secretsManager.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = `secretsmanager.${(context.commandName ?? '?').replace(/Command$/, '')}`;
      try {
        const result = await next(args);
        record(operation, result.output.$metadata, undefined);
        return result;
      } catch (error) {
        record(operation, (error as { $metadata?: unknown }).$metadata, error);
        throw error;
      }
    },
    { step: 'initialize', name: 'benchStats' },
  );
  return stats;
}

/** The Change the handler would derive from a `Secret Label Updated` event at `at`. */
async function changeAt(at: Date, secretsManager: SecretsManagerClient): Promise<Change> {
  const envelope = parseEnvelope(secretLabelUpdatedEvent(randomUUID(), at));
  if (typeof envelope === 'string') throw new Error(envelope);
  const interpretation = interpret(envelope, 'aws');
  if (interpretation.kind !== 'change') throw new Error('event not interpreted as a change');
  if (interpretation.change.kind !== 'secret') throw new Error('expected a secret change');
  const resolved = await resolveSecretChange(interpretation.change, secretsManager, HOME);
  if (resolved.kind !== 'change') throw new Error(resolved.reason);
  return resolved.change;
}

interface Measured<T> {
  readonly value: T;
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly rssBeforeMb: number;
  readonly rssPeakMb: number;
  readonly heapGrowthMb: number;
}

async function measured<T>(run: () => Promise<T>): Promise<Measured<T>> {
  collectGarbage();
  const before = process.memoryUsage();
  let rssPeak = before.rss;
  let heapPeak = before.heapUsed;
  const sample = (): void => {
    const now = process.memoryUsage();
    rssPeak = Math.max(rssPeak, now.rss);
    heapPeak = Math.max(heapPeak, now.heapUsed);
  };
  const sampler = setInterval(sample, 20);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  try {
    const value = await run();
    const wallMs = performance.now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    sample();
    return {
      value,
      wallMs,
      cpuMs: (cpu.user + cpu.system) / 1000,
      rssBeforeMb: before.rss / MB,
      rssPeakMb: rssPeak / MB,
      heapGrowthMb: (heapPeak - before.heapUsed) / MB,
    };
  } finally {
    clearInterval(sampler);
  }
}

function delta(now: Record<string, OperationCounts>): Record<string, number> {
  return Object.fromEntries(Object.entries(now).map(([operation, c]) => [operation, c.ok]));
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** ListServices → DescribeServices batches at once → UpdateService calls at once, nothing else. */
async function criticalPathBySdk(ecs: ECSClient, account: BuiltAccount): Promise<number> {
  const cluster = account.clusterNames[0] ?? '';
  const started = performance.now();
  const page = await ecs.send(new ListServicesCommand({ cluster, maxResults: 100 }));
  const arns = page.serviceArns ?? [];
  const batches: string[][] = [];
  for (let i = 0; i < arns.length; i += 10) batches.push(arns.slice(i, i + 10));
  await Promise.all(
    batches.map((services) => ecs.send(new DescribeServicesCommand({ cluster, services }))),
  );
  await Promise.all(
    [...account.expectedRedeployed].map((service) =>
      ecs.send(new UpdateServiceCommand({ cluster, service, forceNewDeployment: true })),
    ),
  );
  return performance.now() - started;
}

/** `steps` timers of `ms` one after another: the latency floor as this machine's clock keeps it. */
async function criticalPathOfTimers(steps: number, ms: number): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < steps; i += 1) await pause(ms);
  return performance.now() - started;
}

interface Outcome {
  readonly redeployed: readonly string[];
  readonly needsAction: readonly string[];
  readonly skipped: number;
  readonly stillReferenced: number;
  readonly failed: readonly string[];
}

function outcomeOfReport(report: ChangeReport): Outcome {
  return {
    redeployed: report.redeployed,
    needsAction: report.needsAction.map((entry) => entry.service),
    skipped: report.skipped.length,
    stillReferenced: report.stillReferenced.length,
    failed: report.failed.map((f) => `${f.target}: ${f.error}`),
  };
}

function compare(account: BuiltAccount, outcome: Outcome): string[] {
  const mismatches: string[] = [];
  const check = (label: string, expected: ReadonlySet<string>, got: readonly string[]): void => {
    const gotSet = new Set(got);
    const missing = [...expected].filter((arn) => !gotSet.has(arn));
    const extra = got.filter((arn) => !expected.has(arn));
    if (missing.length > 0) mismatches.push(`${label}: ${missing.length} missing`);
    if (extra.length > 0) mismatches.push(`${label}: ${extra.length} unexpected`);
  };
  check('redeployed', account.expectedRedeployed, outcome.redeployed);
  check('needsAction', account.expectedNeedsAction, outcome.needsAction);
  if (outcome.failed.length > 0) mismatches.push(`${outcome.failed.length} failed`);
  return mismatches;
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as ScenarioSpec;
  collectGarbage();
  const rssRuntime = process.memoryUsage().rss;
  const small = spec.name === 'small-warm';
  const latencyMs = small ? 20 : 25;
  const account = small ? smallAccount({ latencyMs }) : largeAccount({ latencyMs });
  collectGarbage();
  const rssWithAccount = process.memoryUsage().rss;
  const { sim } = account;
  const { ecs, secretsManager } = sim.clients();
  const sdk = instrument(ecs, secretsManager);

  const clusters = small ? account.clusterNames.join(',') : '';
  // The wave brake is off: this measures one invocation's throughput over the whole fleet. With
  // the default cap (20 forced rollouts at once) the rest would be handled in later waves.
  const config = loadConfig({ CLUSTERS: clusters, MAX_DEPLOYMENTS_IN_PROGRESS: '0' });
  // Exactly as the handler builds them: paced ECS client, warm caches.
  const warm = newWarmState();
  let deps: Dependencies = buildDependencies({ ecs, secretsManager }, config, HOME, warm);
  const resetCounters = (): void => {
    sim.resetCounts();
    for (const key of Object.keys(sdk)) Reflect.deleteProperty(sdk, key);
  };

  let run: Measured<Outcome>;
  let wallMsRuns: number[] | undefined;
  let callsPerRun: Record<string, number>[] | undefined;
  let controls: { sdkChainMs: number[]; timersMs: number[] } | undefined;
  /** The counters right after the measured run, when more calls follow it. */
  let snapshot: { calls: Record<string, OperationCounts>; sdk: typeof sdk } | undefined;
  let rolloutCalls: Record<string, number> | undefined;
  let rolloutSimulatorMs: number | undefined;
  switch (spec.name) {
    case 'large-cold': {
      const change = await changeAt(new Date(), secretsManager);
      resetCounters();
      run = await measured(async () => outcomeOfReport(await applyChange(change, deps)));
      break;
    }
    case 'large-warm': {
      // The previous invocation of this execution environment (the cold one), replayed without
      // latency or throttling: it leaves the task definition cache and the recent deployments
      // exactly as a real cold invocation would.
      sim.configure({ latencyMs: 0, throttling: false });
      await applyChange(await changeAt(new Date(), secretsManager), deps);
      sim.configure({ latencyMs, throttling: true });
      // Buckets full again, AWS's and the pacer's: the next change comes more than 10 s later.
      sim.refillBuckets();
      deps = buildDependencies({ ecs, secretsManager }, config, HOME, {
        ...warm,
        buckets: ecsBuckets(),
      });
      const change = await changeAt(new Date(), secretsManager);
      resetCounters();
      run = await measured(async () => outcomeOfReport(await applyChange(change, deps)));
      break;
    }
    case 'large-warm-rollouts': {
      // large-warm with rollouts on: the rollout table, the engine start and the DescribeSecret
      // of the change's identity are answered by a second simulated account (test/sim) with the
      // same latency; ECS and Secrets Manager stay the bench's own.
      const state = new SimulatedAws({ clockMode: 'real', latencyMs });
      state.createTable({
        name: 'rollouts',
        partitionKey: 'pk',
        sortKey: 'sk',
        ttlAttribute: 'expiresAt',
        indexes: [{ name: 'ByTime', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' }],
      });
      const engineArn = `${state.addFunction('rollout-engine')}:live`;
      const withRollouts = (base: Dependencies): Dependencies => ({
        ...base,
        rollouts: {
          ecs: base.ecs,
          ecsUpdate: base.ecs,
          store: new RolloutStore(state.client(DynamoDBClient), 'rollouts'),
          now: () => new Date(),
          newToken: randomUUID,
          settings: DEFAULT_ROLLOUT_SETTINGS,
          secretsManager: base.secretsManager,
          ssm: state.client(SSMClient),
          home: HOME,
          engine: new LambdaEngineControl(state.client(LambdaClient), engineArn),
        },
      });
      sim.configure({ latencyMs: 0, throttling: false });
      state.configure({ latencyMs: 0 });
      await handleChange(await changeAt(new Date(), secretsManager), withRollouts(deps));
      sim.configure({ latencyMs, throttling: true });
      state.configure({ latencyMs });
      sim.refillBuckets();
      deps = withRollouts(
        buildDependencies({ ecs, secretsManager }, config, HOME, {
          ...warm,
          buckets: ecsBuckets(),
        }),
      );
      // The bench's secret keeps its version: forget the first change's rollout (its pointer,
      // rollout and claims), so the measured one is a new change, as a rotation would be.
      const table = state.table('rollouts');
      for (const { pk, sk } of table.items()) if (pk && sk) table.delete({ pk, sk });
      const change = await changeAt(new Date(), secretsManager);
      resetCounters();
      state.clearCalls();
      state.resetBusy();
      run = await measured(async () => outcomeOfReport(await handleChange(change, deps)));
      rolloutSimulatorMs = state.simulatorMs;
      rolloutCalls = {};
      for (const call of state.calls()) {
        const key = `${call.service}.${call.operation}`;
        rolloutCalls[key] = (rolloutCalls[key] ?? 0) + 1;
      }
      break;
    }
    case 'baseline': {
      const change = await changeAt(new Date(), secretsManager);
      resetCounters();
      run = await measured(async () => {
        const report = await baselineApply(ecs, change, HOME);
        return {
          redeployed: report.redeployed,
          needsAction: report.needsAction,
          skipped: report.skipped.length,
          stillReferenced: 0,
          failed: report.failed.map((f) => `${f.target}: ${f.error}`),
        };
      });
      break;
    }
    case 'small-warm': {
      const invoke = async (): Promise<Outcome> => {
        const event = secretLabelUpdatedEvent(randomUUID(), new Date());
        const report = await processEvent(event, deps);
        if (report.outcome !== 'handled') throw new Error(`event ignored: ${report.reason}`);
        return outcomeOfReport(report);
      };
      await invoke(); // the cold invocation that fills the cache
      const runs = spec.runs ?? 21;
      wallMsRuns = [];
      callsPerRun = [];
      controls = { sdkChainMs: [], timersMs: [] };
      let last: Measured<Outcome> | undefined;
      for (let i = 0; i < runs; i += 1) {
        // Invocations far enough apart that the buckets are full: no throttling pressure.
        sim.refillBuckets();
        await pause(30);
        resetCounters();
        last = await measured(invoke);
        snapshot = { calls: structuredClone(sim.callCounts()), sdk: structuredClone(sdk) };
        callsPerRun.push(delta(snapshot.calls));
        wallMsRuns.push(last.wallMs);
        // Controls, interleaved to share the noise: the critical path's calls made directly
        // with the same SDK client, and the bare timers of the same latency.
        sim.refillBuckets();
        await pause(30);
        controls.sdkChainMs.push(await criticalPathBySdk(ecs, account));
        await pause(30);
        controls.timersMs.push(await criticalPathOfTimers(3, latencyMs));
      }
      if (!last) throw new Error('no runs');
      run = last;
      break;
    }
  }

  const mismatches = compare(account, run.value);
  const result: ScenarioResult = {
    name: spec.name,
    wallMs: run.wallMs,
    ...(wallMsRuns && { wallMsRuns }),
    cpuMs: run.cpuMs,
    simulatorMs: sim.simulatorMs,
    calls: snapshot?.calls ?? sim.callCounts(),
    ...(rolloutCalls && { rolloutCalls }),
    ...(rolloutSimulatorMs !== undefined && { rolloutSimulatorMs }),
    ...(callsPerRun && { callsPerRun }),
    ...(controls && { controls }),
    sdk: snapshot?.sdk ?? sdk,
    memory: {
      rssBeforeMb: run.rssBeforeMb,
      rssPeakMb: run.rssPeakMb,
      maxRssMb: process.resourceUsage().maxRSS / 1024,
      heapGrowthMb: run.heapGrowthMb,
      simulatorRssMb: (rssWithAccount - rssRuntime) / MB,
      rssRuntimeMb: rssRuntime / MB,
    },
    outcome: {
      redeployed: run.value.redeployed.length,
      needsAction: run.value.needsAction.length,
      skipped: run.value.skipped,
      stillReferenced: run.value.stillReferenced,
      failed: run.value.failed.length,
      failedSample: run.value.failed.slice(0, 5),
    },
    expected: {
      redeployed: account.expectedRedeployed.size,
      needsAction: account.expectedNeedsAction.size,
    },
    correct: mismatches.length === 0,
    mismatches,
    account: {
      servicesByCluster: account.servicesByCluster,
      taskDefinitionsInUse: account.taskDefinitionsInUse,
      referencingServices:
        account.expectedRedeployed.size + account.expectedNeedsAction.size + account.pinned.size,
      pinned: account.pinned.size,
      referencesByForm: account.referencesByForm,
    },
    clustersConfigured: clusters !== '',
    latencyMs,
  };
  process.stdout.write(`${RESULT_MARKER}${JSON.stringify(result)}\n`);
}

await main();
