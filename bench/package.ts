/**
 * Package and cold start: the deployed bundle against a floor bundle built in the same run, with
 * the same esbuild options, from only the SDK clients and commands the function imports.
 */
import { spawn } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { type BuildOptions, build } from 'esbuild';
import { ESBUILD_OPTIONS } from '../infra/bundling.js';

/** ESBUILD_OPTIONS, with the one readonly array esbuild's types want mutable. */
export function buildOptions(root: string): BuildOptions {
  return { ...ESBUILD_OPTIONS, mainFields: [...ESBUILD_OPTIONS.mainFields], absWorkingDir: root };
}

export interface BundleStats {
  readonly bytes: number;
  readonly gzipBytes: number;
  /** Each fresh process's time to import the bundle (ms). */
  readonly importMs: readonly number[];
  /** Each fresh process's time from its start to the bundle imported (ms). */
  readonly readyMs: readonly number[];
}

export interface PackageResult {
  readonly real: BundleStats;
  readonly floor: BundleStats;
  /**
   * For attribution only: the floor bundle that also constructs the two clients at module
   * scope, as the handler does.
   */
  readonly floorWithClients: BundleStats;
  /** The floor bundle's entry. */
  readonly floorEntry: string;
  /** Bytes of the real bundle from inputs the floor bundle does not have, by package. */
  readonly aboveFloor: Readonly<Record<string, number>>;
  readonly samples: number;
}

/**
 * The values the function's code imports from `@aws-sdk/*`, read from the sources that end up in
 * its bundle, so the floor follows the code (type-only imports excluded).
 */
export async function sdkImports(files: readonly string[]): Promise<Map<string, Set<string>>> {
  const imports = new Map<string, Set<string>>();
  for (const file of files) {
    if (!file.endsWith('.ts')) continue;
    const source = await readFile(file, 'utf8');
    for (const match of source.matchAll(
      /import\s+(type\s+)?\{([^}]*)\}\s*from\s*'(@aws-sdk\/[^']+)'/g,
    )) {
      if (match[1] !== undefined) continue;
      const names = (match[2] ?? '')
        .split(',')
        .map((name) => name.trim())
        .filter((name) => name !== '' && !name.startsWith('type '));
      const module = match[3] ?? '';
      const set = imports.get(module) ?? new Set<string>();
      for (const name of names) set.add(name.split(/\s+as\s+/)[0] ?? name);
      imports.set(module, set);
    }
  }
  return imports;
}

const IMPORT_TIMER = `
const started = performance.now();
await import(process.argv[2]);
const done = performance.now();
process.stdout.write(JSON.stringify({ importMs: done - started, readyMs: done }));
`;

interface Timing {
  readonly importMs: number;
  readonly readyMs: number;
}

function timeImport(timer: string, bundle: string, env: NodeJS.ProcessEnv): Promise<Timing> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [timer, pathToFileURL(bundle).href], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`import of ${bundle} failed (${code}): ${err}`));
      else resolve(JSON.parse(out) as Timing);
    });
  });
}

export async function measurePackage(
  root: string,
  workDir: string,
  samples: number,
): Promise<PackageResult> {
  const functionDir = join(root, 'functions/redeploy');
  const realFile = join(workDir, 'handler.mjs');
  const floorFile = join(workDir, 'floor.mjs');
  const floorClientsFile = join(workDir, 'floor-clients.mjs');
  const real = await build({
    ...buildOptions(root),
    entryPoints: [join(functionDir, 'handler.ts')],
    outfile: realFile,
    metafile: true,
  });
  // Our sources in the bundle (the change handler's, and the rollout code it uses).
  const ours = Object.keys(real.metafile.inputs)
    .filter((input) => !input.includes('node_modules') && input.startsWith('functions/'))
    .map((input) => join(root, input));
  const imports = await sdkImports(ours);
  const floorEntry = [...imports]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([module, names]) => `export { ${[...names].sort().join(', ')} } from '${module}';`)
    .join('\n');
  const floor = await build({
    ...buildOptions(root),
    stdin: { contents: floorEntry, resolveDir: root, sourcefile: 'floor-entry.ts', loader: 'ts' },
    outfile: floorFile,
    metafile: true,
  });
  const clientNames = [...imports.values()].flatMap((names) =>
    [...names].filter((name) => name.endsWith('Client')),
  );
  const floorWithClientsEntry = [
    ...[...imports].map(([module, names]) => {
      const list = [...names].sort().join(', ');
      return `import { ${list} } from '${module}';\nexport { ${list} };`;
    }),
    ...clientNames.map((name) => `export const new${name} = new ${name}({});`),
  ].join('\n');
  await build({
    ...buildOptions(root),
    stdin: {
      contents: floorWithClientsEntry,
      resolveDir: root,
      sourcefile: 'floor-clients-entry.ts',
      loader: 'ts',
    },
    outfile: floorClientsFile,
  });
  const floorInputs = new Set(Object.keys(floor.metafile.inputs));
  const aboveFloor: Record<string, number> = {};
  for (const output of Object.values(real.metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      if (floorInputs.has(input) || bytesInOutput === 0) continue;
      const key = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1] ?? dirname(input);
      aboveFloor[key] = (aboveFloor[key] ?? 0) + bytesInOutput;
    }
  }

  const timer = join(workDir, 'import-timer.mjs');
  await writeFile(timer, IMPORT_TIMER);
  // The Lambda environment the handler's module scope reads (Region, retries, logger).
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    AWS_REGION: 'us-east-1',
    AWS_MAX_ATTEMPTS: '10',
    POWERTOOLS_SERVICE_NAME: 'ecs-secret-redeployer',
    POWERTOOLS_LOG_LEVEL: 'INFO',
    // Node.js 20 here, 24 in Lambda: the SDK's one-off "upgrade Node.js" warning, emitted while
    // the handler constructs its first client, would not fire there.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  const files = [realFile, floorFile, floorClientsFile];
  const timings: Timing[][] = files.map(() => []);
  // One untimed import of each warms the file cache; then rotate the order to share noise.
  for (const file of files) await timeImport(timer, file, env);
  for (let i = 0; i < samples; i += 1) {
    for (let k = 0; k < files.length; k += 1) {
      const index = (i + k) % files.length;
      timings[index]?.push(await timeImport(timer, files[index] ?? '', env));
    }
  }

  const statsOf = async (file: string, timings: Timing[]): Promise<BundleStats> => ({
    bytes: (await stat(file)).size,
    gzipBytes: gzipSync(await readFile(file)).byteLength,
    importMs: timings.map((t) => t.importMs),
    readyMs: timings.map((t) => t.readyMs),
  });
  return {
    real: await statsOf(realFile, timings[0] ?? []),
    floor: await statsOf(floorFile, timings[1] ?? []),
    floorWithClients: await statsOf(floorClientsFile, timings[2] ?? []),
    floorEntry,
    aboveFloor,
    samples,
  };
}
