#!/usr/bin/env node
// Reads Stryker's JSON report and prints each mutated file's mutation score (killed and
// timed-out mutants over every valid mutant, covered or not). Exits 1 when any file scores
// below the minimum, or when the report is missing or lists none of the files.
import console from 'node:console';
import { readFile } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import process from 'node:process';

const REPORT = 'reports/mutation/mutation.json';
const MINIMUM = 90;

/** @typedef {{ status: string }} Mutant */
/** @typedef {{ files: Record<string, { mutants: Mutant[] }> }} Report */

const DETECTED = new Set(['Killed', 'Timeout']);
const UNDETECTED = new Set(['Survived', 'NoCoverage']);

/** @param {readonly Mutant[]} mutants */
function tally(mutants) {
  const count = (/** @type {Set<string>} */ statuses) =>
    mutants.filter((m) => statuses.has(m.status)).length;
  const detected = count(DETECTED);
  const undetected = count(UNDETECTED);
  const valid = detected + undetected;
  return { detected, undetected, valid, score: valid === 0 ? 100 : (100 * detected) / valid };
}

/** @type {Report} */
let report;
try {
  /** @type {unknown} */
  const parsed = JSON.parse(await readFile(REPORT, 'utf8'));
  report = /** @type {Report} */ (parsed);
} catch (error) {
  console.error(`Cannot read ${REPORT}: ${String(error)}. Run Stryker first.`);
  process.exit(1);
}

const rows = Object.entries(report.files)
  .map(([file, { mutants }]) => ({ file: relative('.', resolve(file)), ...tally(mutants) }))
  .sort((a, b) => a.file.localeCompare(b.file));
if (rows.length === 0) {
  console.error(`${REPORT} lists no mutated file.`);
  process.exit(1);
}

const width = Math.max(...rows.map((r) => r.file.length));
let failed = 0;
for (const row of rows) {
  const ok = row.score >= MINIMUM;
  if (!ok) failed += 1;
  console.log(
    `${ok ? 'ok  ' : 'FAIL'} ${row.file.padEnd(width)} ${row.score.toFixed(2).padStart(6)}%` +
      `  (${row.detected}/${row.valid} detected, ${row.undetected} undetected)`,
  );
}
const total = tally(Object.values(report.files).flatMap((f) => f.mutants));
console.log(
  `${'total'.padEnd(width + 5)} ${total.score.toFixed(2).padStart(6)}%` +
    `  (${total.detected}/${total.valid} detected)`,
);
if (failed > 0) {
  console.error(`${failed} file(s) below the ${MINIMUM}% mutation score minimum.`);
  process.exit(1);
}
