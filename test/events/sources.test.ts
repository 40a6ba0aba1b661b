/**
 * Every fixture event says where it comes from: test/events/README.md has a row for each file
 * (a row may cover several files with a `*` pattern).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const HERE = dirname(fileURLToPath(import.meta.url));

function fixtures(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return fixtures(path);
    return entry.name.endsWith('.json') ? [relative(HERE, path)] : [];
  });
}

/** The file patterns of the README's sources table (first column, in backticks). */
function listed(): RegExp[] {
  const readme = readFileSync(join(HERE, 'README.md'), 'utf8');
  const sources = readme.slice(readme.indexOf('## Sources'));
  return [...sources.matchAll(/^\| `([^`]+\.json)` +\|/gm)].map(
    ([, pattern = '']) =>
      new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`),
  );
}

describe('fixture sources', () => {
  const patterns = listed();

  it.each(fixtures(HERE))('%s has its source in test/events/README.md', (file) => {
    expect(patterns.some((pattern) => pattern.test(file))).toBe(true);
  });

  it('every row names a file that exists', () => {
    const files = fixtures(HERE);
    for (const pattern of patterns) {
      expect(files.some((file) => pattern.test(file)), String(pattern)).toBe(true);
    }
  });
});
