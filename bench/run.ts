/**
 * `npm run bench`: every benchmark side by side in one run, one Markdown table (plus notes)
 * printed to stdout and written to bench/results/latest.md (and latest.json). Progress goes to
 * stderr.
 *
 * Options: `--only=large-cold,large-warm,baseline,small-warm,package` runs a subset (results are
 * then written to bench/results/partial.md); `--samples=N` fresh processes per bundle for the
 * import time (default 21, at least 15 for a full run); `--cold-runs=N` (default 5) and
 * `--warm-runs=N` (default 5) fresh processes for the large account, whose times vary from run
 * to run with the SDK's jittered backoff.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem, type as osType, release } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import * as prettier from 'prettier';
import { ECS_BUCKETS } from './aws-sim.js';
import { type Floor, OPERATIONS, floorOf } from './floor.js';
import { type PackageResult, buildOptions, measurePackage } from './package.js';
import { RESULT_MARKER, type ScenarioName, type ScenarioResult } from './protocol.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS = join(ROOT, 'bench/results');

type Part = ScenarioName | 'package';
const ALL_PARTS: readonly Part[] = [
  'large-cold',
  'large-warm',
  'large-warm-rollouts',
  'baseline',
  'small-warm',
  'package',
];

/** Targets from the issue. */
const TARGET = {
  wallVsFloor: 1.2,
  /** "Warm wall time well under the cold one": at most half. */
  warmVsCold: 0.5,
  bundleSize: 1.1,
  importTime: 1.15,
  smallVsCriticalPath: 1.1,
  /** The configured memory must leave this much headroom over the function's peak RSS. */
  memoryHeadroom: 1.5,
  /** Rollout bookkeeping: at most 5 % more wall time than the same warm run without it. */
  rolloutsVsOff: 1.05,
} as const;

function option(name: string): string | undefined {
  const prefix = `--${name}=`;
  return process.argv.find((arg) => arg.startsWith(prefix))?.slice(prefix.length);
}

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? Number.NaN)
    : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

function runScenario(bundle: string, name: ScenarioName): Promise<ScenarioResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--expose-gc', bundle, JSON.stringify({ name })], {
      env: {
        PATH: process.env.PATH,
        // What the Lambda environment gives the function's SDK clients.
        AWS_REGION: 'us-east-1',
        AWS_MAX_ATTEMPTS: '10',
        AWS_ACCESS_KEY_ID: 'AKIDBENCHMARK',
        AWS_SECRET_ACCESS_KEY: 'benchmark',
        // Node.js 20 here, 24 in Lambda: the SDK's one-off "upgrade Node.js" warning (a stack
        // trace and a write to stderr during the first client's construction) would not fire there.
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith(RESULT_MARKER));
      if (code !== 0 || line === undefined) {
        reject(new Error(`scenario ${name} failed (exit ${code}):\n${err}\n${out}`));
        return;
      }
      log(`${name}: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
      resolve(JSON.parse(line.slice(RESULT_MARKER.length)) as ScenarioResult);
    });
  });
}

async function configuredMemoryMb(): Promise<number> {
  const source = await readFile(join(ROOT, 'infra/secret-redeployer.ts'), 'utf8');
  const match = /memorySize:\s*props\.memorySize\s*\?\?\s*(\d+)/.exec(source);
  return match?.[1] === undefined ? Number.NaN : Number(match[1]);
}

async function machine(): Promise<string> {
  const cpu = cpus();
  let model = cpu[0]?.model.trim() ?? 'unknown CPU';
  try {
    const info = await readFile('/proc/cpuinfo', 'utf8');
    model = /model name\s*:\s*(.+)/.exec(info)?.[1]?.trim() ?? model;
  } catch {
    // not Linux: keep os.cpus()
  }
  return (
    `${model}, ${cpu.length} cores, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB RAM, ` +
    `${osType()} ${release()}, Node.js ${process.version}, ${new Date().toISOString()}`
  );
}

// ---------------------------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------------------------

type Row = readonly [
  scenario: string,
  metric: string,
  measured: string,
  floor: string,
  vsFloor: string,
  baseline: string,
  vsBaseline: string,
  target: string,
  result: string,
];

const PASS = 'pass';
const FAIL = '**FAIL**';

const n = (value: number): string => String(Math.round(value));
const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const mb = (value: number): string => `${value.toFixed(1)} MiB`;
/** Three decimals, so a ratio just over a target never prints as equal to it. */
const ratio = (a: number, b: number): string =>
  b === 0 ? (a === 0 ? '1.000×' : '∞') : `${(a / b).toFixed(3)}×`;

function sumCalls(result: ScenarioResult, key: 'ok' | 'attempts' | 'throttled'): number {
  return Object.values(result.calls).reduce((total, c) => total + c[key], 0);
}

function throttlingSurfaced(result: ScenarioResult): number {
  return Object.values(result.sdk).reduce(
    (total, op) => total + (op.errors.ThrottlingException ?? 0),
    0,
  );
}

function retryDelayMs(result: ScenarioResult): number {
  return Object.values(result.sdk).reduce((total, op) => total + op.retryDelayMs, 0);
}

function maxAttempts(result: ScenarioResult): number {
  return Math.max(1, ...Object.values(result.sdk).map((op) => op.maxAttempts));
}

function floorFor(result: ScenarioResult, taskDefinitionsToRead: number): Floor {
  return floorOf({
    servicesByCluster: result.account.servicesByCluster,
    clustersConfigured: result.clustersConfigured,
    taskDefinitionsToRead,
    updates: result.expected.redeployed,
    latencyMs: result.latencyMs,
  });
}

class Verdicts {
  passed = 0;
  failed = 0;

  judge(ok: boolean): string {
    if (ok) this.passed += 1;
    else this.failed += 1;
    return ok ? PASS : FAIL;
  }
}

/** One value when every run agrees, else the range. */
function spread(values: readonly number[], format: (value: number) => string = n): string {
  const low = Math.min(...values);
  const high = Math.max(...values);
  return low === high ? format(low) : `${format(low)}–${format(high)}`;
}

/** Median, and the range when there are several runs. */
function medianWithRange(values: readonly number[], format: (value: number) => string): string {
  const mid = format(median(values));
  return values.length > 1 ? `${mid} (${spread(values, format)})` : mid;
}

function largeRows(
  label: string,
  runs: readonly ScenarioResult[],
  floor: Floor,
  baseline: ScenarioResult | undefined,
  memoryMb: number,
  verdicts: Verdicts,
  extra: Row[],
): Row[] {
  const rows: Row[] = [];
  for (const operation of OPERATIONS) {
    const measured = runs.map((r) => r.calls[operation]?.ok ?? 0);
    const expected = floor.calls[operation] ?? 0;
    const base = baseline === undefined ? undefined : (baseline.calls[operation]?.ok ?? 0);
    rows.push([
      label,
      `${operation} calls`,
      spread(measured),
      n(expected),
      ratio(Math.max(...measured), expected),
      base === undefined ? '—' : n(base),
      base === undefined ? '—' : ratio(Math.max(...measured), base),
      '= floor',
      verdicts.judge(measured.every((m) => m === expected)),
    ]);
  }
  const totals = runs.map((r) => sumCalls(r, 'ok'));
  const attempts = runs.map((r) => sumCalls(r, 'attempts'));
  const floorTotal = Object.values(floor.calls).reduce((a, b) => a + b, 0);
  rows.push([
    label,
    'all calls (attempts incl. throttled)',
    `${spread(totals)} (${spread(attempts)})`,
    n(floorTotal),
    ratio(Math.max(...totals), floorTotal),
    baseline === undefined
      ? '—'
      : `${n(sumCalls(baseline, 'ok'))} (${n(sumCalls(baseline, 'attempts'))})`,
    baseline === undefined ? '—' : ratio(Math.max(...totals), sumCalls(baseline, 'ok')),
    '= floor',
    verdicts.judge(totals.every((t) => t === floorTotal)),
  ]);
  const seen = runs.map((r) => sumCalls(r, 'throttled'));
  const surfaced = runs.reduce((total, r) => total + throttlingSurfaced(r), 0);
  const retried = seen.reduce((a, b) => a + b, 0) - surfaced;
  const throttlingOf = (r: ScenarioResult): string =>
    `${sumCalls(r, 'throttled')} / ${sumCalls(r, 'throttled') - throttlingSurfaced(r)} / ` +
    `${throttlingSurfaced(r)}; ${maxAttempts(r)}`;
  rows.push([
    label,
    'ThrottlingException seen / retried / surfaced; most attempts a call took (of 10)',
    runs.length === 1 && runs[0]
      ? throttlingOf(runs[0])
      : `${spread(seen)} a run / ${retried} / ${surfaced} in all; ` +
        `${Math.max(...runs.map(maxAttempts))}`,
    '0',
    '—',
    baseline === undefined ? '—' : throttlingOf(baseline),
    '—',
    '0 surfaced',
    verdicts.judge(surfaced === 0),
  ]);
  rows.push([
    label,
    'SDK backoff slept (sum over calls)',
    medianWithRange(runs.map(retryDelayMs), s),
    '0',
    '—',
    baseline === undefined ? '—' : s(retryDelayMs(baseline)),
    '—',
    '',
    '',
  ]);
  const wall = median(runs.map((r) => r.wallMs));
  rows.push([
    label,
    runs.length > 1 ? `wall time, median (min–max)` : 'wall time',
    medianWithRange(
      runs.map((r) => r.wallMs),
      s,
    ),
    s(floor.seconds * 1000),
    ratio(wall, floor.seconds * 1000),
    baseline === undefined ? '—' : s(baseline.wallMs),
    baseline === undefined ? '—' : ratio(wall, baseline.wallMs),
    `≤ ${TARGET.wallVsFloor}× floor`,
    verdicts.judge(wall <= TARGET.wallVsFloor * floor.seconds * 1000),
  ]);
  rows.push(...extra);
  const cpu = median(runs.map((r) => r.cpuMs));
  rows.push([
    label,
    'CPU time, median (simulator share)',
    `${s(cpu)} (${s(median(runs.map((r) => r.simulatorMs)))})`,
    '—',
    '—',
    baseline === undefined ? '—' : s(baseline.cpuMs),
    baseline === undefined ? '—' : ratio(cpu, baseline.cpuMs),
    '',
    '',
  ]);
  const peak = Math.max(...runs.map((r) => r.memory.rssPeakMb));
  const functionPeak = Math.max(...runs.map((r) => r.memory.rssPeakMb - r.memory.simulatorRssMb));
  rows.push([
    label,
    'peak RSS, highest run: process / minus simulated account',
    `${mb(peak)} / ${mb(functionPeak)}`,
    '—',
    '—',
    baseline === undefined ? '—' : mb(baseline.memory.rssPeakMb),
    '—',
    `× ${TARGET.memoryHeadroom} ≤ ${memoryMb} MiB`,
    verdicts.judge(functionPeak * TARGET.memoryHeadroom <= memoryMb),
  ]);
  rows.push([
    label,
    'heap growth during the event, highest run',
    mb(Math.max(...runs.map((r) => r.memory.heapGrowthMb))),
    '—',
    '—',
    baseline === undefined ? '—' : mb(baseline.memory.heapGrowthMb),
    '—',
    '',
    '',
  ]);
  const first = runs[0];
  if (first) {
    const o = first.outcome;
    const failed = runs.reduce((total, r) => total + r.outcome.failed, 0);
    rows.push([
      label,
      'redeployed / needs action / failed (expected)',
      `${spread(runs.map((r) => r.outcome.redeployed))} / ${o.needsAction} / ${failed} ` +
        `(${first.expected.redeployed} / ${first.expected.needsAction} / 0)`,
      '—',
      '—',
      baseline === undefined
        ? '—'
        : `${baseline.outcome.redeployed} / ${baseline.outcome.needsAction} / ${baseline.outcome.failed}`,
      '—',
      'exact, every run',
      verdicts.judge(runs.every((r) => r.correct)),
    ]);
  }
  return rows;
}

/** Rollouts on against off, warm, side by side; and the bookkeeping's own calls. */
function rolloutRows(
  on: readonly ScenarioResult[],
  off: readonly ScenarioResult[],
  verdicts: Verdicts,
): Row[] {
  const label = `Large, warm, rollouts on (${on.length} runs)`;
  // The rollout table's simulator runs in the function's process; a real table does not.
  const adjusted = on.map((r) => r.wallMs - (r.rolloutSimulatorMs ?? 0));
  const onWall = median(adjusted);
  const offWall = median(off.map((r) => r.wallMs));
  const rows: Row[] = [
    [
      label,
      'wall time, median (min–max), its table simulator CPU taken off; against rollouts off in the same run',
      `${medianWithRange(adjusted, s)} (raw ${s(median(on.map((r) => r.wallMs)))})`,
      '—',
      '—',
      off.length > 0 ? `off ${s(offWall)}` : '—',
      off.length > 0 ? ratio(onWall, offWall) : '—',
      `≤ ${TARGET.rolloutsVsOff}× off`,
      off.length > 0 ? verdicts.judge(onWall <= TARGET.rolloutsVsOff * offWall) : '',
    ],
    [
      label,
      'redeployed / needs action / failed (expected)',
      on.map(
        (r) => `${r.outcome.redeployed} / ${r.outcome.needsAction} / ${r.outcome.failed}`,
      )[0] ?? '—',
      '—',
      '—',
      '—',
      '—',
      'exact, every run',
      verdicts.judge(on.every((r) => r.correct)),
    ],
  ];
  const first = on[0];
  if (first?.rolloutCalls) {
    const calls = Object.entries(first.rolloutCalls)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([operation, n]) => `${operation} ${n}`)
      .join(', ');
    const extraDescribe =
      (first.calls['secretsmanager.DescribeSecret']?.ok ?? 0) -
      (off[0]?.calls['secretsmanager.DescribeSecret']?.ok ?? 0);
    rows.push([
      label,
      'rollout bookkeeping calls per change (besides ECS)',
      `${calls}; secretsmanager.DescribeSecret +${extraDescribe}`,
      '—',
      '—',
      '—',
      '—',
      '',
      '',
    ]);
  }
  return rows;
}

function packageRows(pkg: PackageResult, verdicts: Verdicts): Row[] {
  const judge = (ok: boolean): string => verdicts.judge(ok);
  const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;
  const realImport = median(pkg.real.importMs);
  const floorImport = median(pkg.floor.importMs);
  const realReady = median(pkg.real.readyMs);
  const floorReady = median(pkg.floor.readyMs);
  const label = 'Package';
  return [
    [
      label,
      'bundle size',
      kib(pkg.real.bytes),
      kib(pkg.floor.bytes),
      ratio(pkg.real.bytes, pkg.floor.bytes),
      '—',
      '—',
      `≤ ${TARGET.bundleSize}× floor`,
      judge(pkg.real.bytes <= TARGET.bundleSize * pkg.floor.bytes),
    ],
    [
      label,
      'bundle size, gzip',
      kib(pkg.real.gzipBytes),
      kib(pkg.floor.gzipBytes),
      ratio(pkg.real.gzipBytes, pkg.floor.gzipBytes),
      '—',
      '—',
      '',
      '',
    ],
    [
      label,
      `cold import, median of ${pkg.samples} processes`,
      `${realImport.toFixed(1)} ms`,
      `${floorImport.toFixed(1)} ms`,
      ratio(realImport, floorImport),
      '—',
      '—',
      `≤ ${TARGET.importTime}× floor`,
      judge(realImport <= TARGET.importTime * floorImport),
    ],
    [
      label,
      'attribution: floor + both clients constructed at module scope, import median',
      `${median(pkg.floorWithClients.importMs).toFixed(1)} ms`,
      `${floorImport.toFixed(1)} ms`,
      ratio(median(pkg.floorWithClients.importMs), floorImport),
      '—',
      '—',
      '',
      '',
    ],
    [
      label,
      'process start → imported, median',
      `${realReady.toFixed(1)} ms`,
      `${floorReady.toFixed(1)} ms`,
      ratio(realReady, floorReady),
      '—',
      '—',
      '',
      '',
    ],
  ];
}

function smallRows(result: ScenarioResult, verdicts: Verdicts): Row[] {
  const judge = (ok: boolean): string => verdicts.judge(ok);
  const floor = floorFor(result, 0);
  const critical = floor.seconds * 1000;
  const runs = result.wallMsRuns ?? [result.wallMs];
  const handlerMs = median(runs);
  const label = 'Small, warm';
  const callsOk = (result.callsPerRun ?? []).every((calls) =>
    OPERATIONS.every((operation) => (calls[operation] ?? 0) === (floor.calls[operation] ?? 0)),
  );
  const perRun = result.callsPerRun?.[0] ?? {};
  const describe = (calls: Readonly<Record<string, number>>): string =>
    OPERATIONS.filter((op) => (calls[op] ?? 0) > 0)
      .map((op) => `${op.split('.')[1] ?? op} ${calls[op] ?? 0}`)
      .join(', ');
  return [
    [
      label,
      `handler time, median of ${runs.length} (min–max)`,
      `${handlerMs.toFixed(1)} ms (${Math.min(...runs).toFixed(1)}–${Math.max(...runs).toFixed(1)})`,
      `${critical.toFixed(0)} ms`,
      ratio(handlerMs, critical),
      '—',
      '—',
      `≤ ${TARGET.smallVsCriticalPath}× critical path`,
      judge(handlerMs <= TARGET.smallVsCriticalPath * critical),
    ],
    ...(result.controls
      ? ([
          [
            label,
            'control: the same calls straight through the SDK client, median',
            `${median(result.controls.sdkChainMs).toFixed(1)} ms`,
            `${critical.toFixed(0)} ms`,
            ratio(median(result.controls.sdkChainMs), critical),
            '—',
            '—',
            '',
            '',
          ],
          [
            label,
            'control: 3 bare 20 ms timers in a row, median',
            `${median(result.controls.timersMs).toFixed(1)} ms`,
            `${critical.toFixed(0)} ms`,
            ratio(median(result.controls.timersMs), critical),
            '—',
            '—',
            '',
            '',
          ],
        ] satisfies Row[])
      : []),
    [
      label,
      'calls per invocation',
      describe(perRun),
      describe(floor.calls),
      '—',
      '—',
      '—',
      '= floor every run',
      judge(callsOk),
    ],
    [
      label,
      'redeployed / failed (expected)',
      `${result.outcome.redeployed} / ${result.outcome.failed} (${result.expected.redeployed} / 0)`,
      '—',
      '—',
      '—',
      '—',
      'exact',
      judge(result.correct),
    ],
  ];
}

function markdownTable(rows: readonly Row[]): string {
  const header: Row = [
    'Scenario',
    'Metric',
    'Measured',
    'Floor',
    '× floor',
    'Baseline',
    '× baseline',
    'Target',
    'Result',
  ];
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const only = option('only')?.split(',') as Part[] | undefined;
  const parts = only ?? ALL_PARTS;
  const samples = Number(option('samples') ?? 21);
  const coldRuns = Number(option('cold-runs') ?? 5);
  const warmRuns = Number(option('warm-runs') ?? 5);
  const complete = ALL_PARTS.every((part) => parts.includes(part)) && samples >= 15;
  const startedAt = performance.now();
  const work = await mkdtemp(join(tmpdir(), 'redeployer-bench-'));
  try {
    const machineInfo = await machine();
    const memoryMb = await configuredMemoryMb();
    log(machineInfo);

    // Scenarios run from a bundle built with the function's own esbuild options, each in a
    // fresh process.
    const scenarioBundle = join(work, 'scenario.mjs');
    await build({
      ...buildOptions(ROOT),
      entryPoints: [join(ROOT, 'bench/scenario.ts')],
      outfile: scenarioBundle,
    });

    // CPU-sensitive measurements first, with nothing else running.
    let pkg: PackageResult | undefined;
    if (parts.includes('package')) {
      log(`package: building both bundles, importing each in ${samples} fresh processes…`);
      pkg = await measurePackage(ROOT, work, samples);
    }
    const small = parts.includes('small-warm')
      ? await runScenario(scenarioBundle, 'small-warm')
      : undefined;

    // The baseline spends ~97% of its time waiting; it runs beside the large scenarios (each
    // process has its own simulated account and buckets) to keep the whole run short.
    const baselinePromise = parts.includes('baseline')
      ? runScenario(scenarioBundle, 'baseline')
      : Promise.resolve(undefined);
    baselinePromise.catch(() => undefined); // awaited below; avoid an unhandled rejection meanwhile
    const cold: ScenarioResult[] = [];
    const warm: ScenarioResult[] = [];
    if (parts.includes('large-cold')) {
      for (let i = 0; i < coldRuns; i += 1)
        cold.push(await runScenario(scenarioBundle, 'large-cold'));
    }
    // With rollouts on and off alternately, so both see the same machine noise.
    const warmRollouts: ScenarioResult[] = [];
    for (let i = 0; i < warmRuns; i += 1) {
      if (parts.includes('large-warm')) warm.push(await runScenario(scenarioBundle, 'large-warm'));
      if (parts.includes('large-warm-rollouts')) {
        warmRollouts.push(await runScenario(scenarioBundle, 'large-warm-rollouts'));
      }
    }
    const baseline = await baselinePromise;

    const verdicts = new Verdicts();
    const rows: Row[] = [];
    const coldFirst = cold[0];
    const warmFirst = warm[0];
    if (coldFirst) {
      const floor = floorFor(coldFirst, coldFirst.account.taskDefinitionsInUse);
      const label = `Large, cold (${cold.length} runs)`;
      rows.push(...largeRows(label, cold, floor, baseline, memoryMb, verdicts, []));
    }
    if (warmFirst) {
      const floor = floorFor(warmFirst, 0);
      const label = `Large, warm (${warm.length} runs)`;
      const warmWall = median(warm.map((r) => r.wallMs));
      const coldWall = median(cold.map((r) => r.wallMs));
      const extra: Row[] = coldFirst
        ? [
            [
              label,
              'wall time vs cold (medians)',
              s(warmWall),
              '—',
              '—',
              `cold ${s(coldWall)}`,
              ratio(warmWall, coldWall),
              `≤ ${TARGET.warmVsCold}× cold`,
              verdicts.judge(warmWall <= TARGET.warmVsCold * coldWall),
            ],
          ]
        : [];
      rows.push(...largeRows(label, warm, floor, baseline, memoryMb, verdicts, extra));
    }
    if (warmRollouts.length > 0) {
      rows.push(...rolloutRows(warmRollouts, warm, verdicts));
    }
    if (baseline && !coldFirst && !warmFirst) {
      const floor = floorFor(baseline, baseline.account.taskDefinitionsInUse);
      rows.push(...largeRows('Baseline', [baseline], floor, undefined, memoryMb, verdicts, []));
    }
    if (pkg) rows.push(...packageRows(pkg, verdicts));
    if (small) rows.push(...smallRows(small, verdicts));

    const notes = notesFor({ cold, warm, baseline, small, pkg, memoryMb });
    const elapsed = (performance.now() - startedAt) / 1000;
    const document = [
      `## Benchmark: ${verdicts.passed} targets met, ${verdicts.failed} missed`,
      '',
      `Machine: ${machineInfo}. Whole run: ${elapsed.toFixed(0)} s.`,
      '',
      markdownTable(rows),
      '',
      ...notes,
      '',
    ].join('\n');
    await mkdir(RESULTS, { recursive: true });
    const name = complete ? 'latest' : 'partial';
    // Formatted as the repository's Prettier settings want, so `npm run lint` accepts them.
    const markdownFile = join(RESULTS, `${name}.md`);
    const markdown = await prettier.format(document, {
      ...(await prettier.resolveConfig(markdownFile)),
      filepath: markdownFile,
    });
    process.stdout.write(markdown);
    await writeFile(markdownFile, markdown);
    const jsonFile = join(RESULTS, `${name}.json`);
    const json = {
      machine: machineInfo,
      memoryMb,
      cold,
      warm,
      warmRollouts,
      baseline,
      small,
      package: pkg,
    };
    await writeFile(
      jsonFile,
      await prettier.format(JSON.stringify(json), {
        ...(await prettier.resolveConfig(jsonFile)),
        filepath: jsonFile,
      }),
    );
    log(`written to bench/results/${name}.md and ${name}.json`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function notesFor(input: {
  cold: readonly ScenarioResult[];
  warm: readonly ScenarioResult[];
  baseline?: ScenarioResult | undefined;
  small?: ScenarioResult | undefined;
  pkg?: PackageResult | undefined;
  memoryMb: number;
}): string[] {
  const notes: string[] = ['Notes:', ''];
  const functionPeak = Math.max(
    0,
    ...[...input.cold, ...input.warm].map((r) => r.memory.rssPeakMb - r.memory.simulatorRssMb),
  );
  const large = input.cold[0] ?? input.warm[0] ?? input.baseline;
  if (large) {
    const a = large.account;
    const forms = Object.entries(a.referencesByForm)
      .filter(([form]) => form !== 'none')
      .map(([form, count]) => `${form} ${count}`)
      .join(', ');
    notes.push(
      `- **Large account**: ${a.servicesByCluster.length} clusters, ` +
        `${a.servicesByCluster.reduce((x, y) => x + y, 0)} services, ` +
        `${a.taskDefinitionsInUse} task-definition revisions (all in use, shared by 3–4 services each); ` +
        `${a.referencingServices} services reference the changed secret (${forms}); the pinned ones are ` +
        `not affected and ${large.expected.needsAction} affected services use CODE_DEPLOY, so ` +
        `${large.expected.redeployed} must be redeployed. Every deployment is a day old. Default ` +
        `configuration: every cluster (ListClusters), REDEPLOY_CONCURRENCY 10. ` +
        `Every call takes ${large.latencyMs} ms, throttled ones included.`,
    );
  }
  notes.push(
    `- **AWS simulation**: real \`ECSClient\`/\`SecretsManagerClient\` configured from the ` +
      `environment (AWS_MAX_ATTEMPTS=10, standard retry mode) with an in-process HTTP handler ` +
      `(bench/aws-sim.ts): real serialisation, signing, retries and backoff. Buckets per account ` +
      `(burst / refill per s): ${Object.entries(ECS_BUCKETS)
        .map(([name, b]) => `${name} ${b.burst}/${b.ratePerSecond}`)
        .join('; ')}; refilled continuously; a call over the limit is answered ` +
      '`400 ThrottlingException`. Seen = throttled answers; surfaced = ThrottlingException that ' +
      'reached the function after the SDK gave up; retried = seen − surfaced.',
    '- **Floor** calls: ListClusters pages, ListServices pages of 100, DescribeServices of 10, ' +
      'each task definition in use once (0 when warm), one UpdateService per service that must be ' +
      'redeployed. Floor time = max over buckets of max(0, N − burst) / rate + (sequential ' +
      'steps) × latency, the steps being the ListClusters page, the ListServices pages of the ' +
      'largest cluster, one DescribeServices, one DescribeTaskDefinition (cold) and one ' +
      'UpdateService.',
  );
  if (input.cold.length > 1 || input.warm.length > 1) {
    notes.push(
      '- **Repeated runs**: each large-account run is a fresh process; the SDK backoff is ' +
        'randomised (full jitter), so wall times vary from run to run. Times are judged on the ' +
        'median; calls, surfaced errors and correctness must hold in every run; memory is the ' +
        'highest run.',
    );
  }
  const cold = input.cold[0];
  if (cold) {
    const floor = floorFor(cold, cold.account.taskDefinitionsInUse);
    notes.push(
      `- Cold floor: ${Object.entries(floor.bucketSeconds)
        .map(([b, sec]) => `${b} ${sec.toFixed(2)} s`)
        .join(', ')}; ${floor.sequentialSteps} sequential steps → ${floor.seconds.toFixed(2)} s.`,
    );
  }
  const warm = input.warm[0];
  if (warm) {
    const floor = floorFor(warm, 0);
    notes.push(
      `- **Warm**: the same execution environment after a cold invocation (replayed without ` +
        `latency or throttling to fill the task definition cache and the recent deployments), ` +
        `then a second change of the secret with full buckets (events more than 10 s apart). ` +
        `Warm floor: ${Object.entries(floor.bucketSeconds)
          .map(([b, sec]) => `${b} ${sec.toFixed(2)} s`)
          .join(', ')}; ${floor.sequentialSteps} steps → ${floor.seconds.toFixed(2)} s.`,
    );
  }
  if (input.baseline) {
    notes.push(
      `- **Baseline** (bench/baseline.ts): one call at a time, no cache (a DescribeTaskDefinition ` +
        `per service), same SDK clients and retries, same decisions; measured in full on the same ` +
        `account (${s(input.baseline.wallMs)}), in its own process beside the large scenarios ` +
        `(it waits ~95% of the time; each process has its own simulated account and buckets).`,
    );
  }
  notes.push(
    `- **Memory**: each scenario in a fresh \`node --expose-gc\` process running a bundle built ` +
      `with the function's esbuild options. Peak RSS sampled every 20 ms during the event; the ` +
      `simulated account's own RSS (measured while building it) is subtracted for the function's ` +
      `estimate, which includes Node.js, the SDK and the code (${
        large ? mb(large.memory.rssRuntimeMb) : '?'
      } before the account). Configured memory: ${input.memoryMb} MiB; target: peak × ` +
      `${TARGET.memoryHeadroom} fits${
        functionPeak > 0
          ? `; by memory alone ${Math.max(128, Math.ceil((functionPeak * TARGET.memoryHeadroom) / 64) * 64)} MiB would do (peak × ${TARGET.memoryHeadroom}, rounded up to 64 MiB)`
          : ''
      }. CPU time matters too: Lambda gives ${input.memoryMb} MiB about ` +
      `${((input.memoryMb / 1769) * 100).toFixed(0)}% of a vCPU (full vCPU at 1769 MiB).`,
  );
  if (input.pkg) {
    notes.push(
      `- **Package**: esbuild \`build()\` with ESBUILD_OPTIONS (infra/bundling.ts), entry ` +
        `functions/redeploy/handler.ts; floor entry (same options), from the function's own ` +
        `\`@aws-sdk\` imports: \`${input.pkg.floorEntry.replace(/\n/g, ' ')}\`. Import time: ` +
        `\`await import()\` timed inside ${input.pkg.samples} fresh \`node\` processes per bundle, ` +
        `rotating the order, after one untimed import of each. Bytes above the floor: ${Object.entries(
          input.pkg.aboveFloor,
        )
          .sort((a, b) => b[1] - a[1])
          .map(([name, bytes]) => `${name} ${(bytes / 1024).toFixed(1)} KiB`)
          .join(', ')}.`,
    );
  }
  if (input.small) {
    const floor = floorFor(input.small, 0);
    notes.push(
      `- **Small account**: 1 cluster (named in CLUSTERS), 20 services, 10 revisions, ` +
        `${input.small.expected.redeployed} services to redeploy, ${input.small.latencyMs} ms a ` +
        `call, warm (one invocation before), buckets full before each invocation; the handler ` +
        `path is \`processEvent\` on a native Secret Label Updated event (the handler minus ` +
        `logging). Critical path = ListServices page → DescribeServices (both batches at once) ` +
        `→ DescribeTaskDefinition (cached: 0) → UpdateService (both at once) = ` +
        `${floor.sequentialSteps} × ${input.small.latencyMs} ms.`,
    );
  }
  return notes;
}

await main();
