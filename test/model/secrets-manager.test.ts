import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { secretTargetMatches } from '../../functions/redeploy/arn.js';
import { parseReference } from '../../functions/redeploy/references.js';
import { type ModelSecret, fullArn, partialArn, resolve } from './secrets-manager.js';

const HOME = { partition: 'aws', region: 'us-east-1', account: '123456789012' };
const OTHER = { partition: 'aws', region: 'eu-west-1', account: '123456789012' };

const SUFFIX_CHARS = Array.from('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789');
const sixChars = fc.string({ unit: fc.constantFrom(...SUFFIX_CHARS), minLength: 6, maxLength: 6 });
/** A name part: words with hyphens, slashes, and often a part of exactly six characters. */
const part = fc.oneof(
  fc.constantFrom('prod', 'db', 'api', 'orders', 'backup', 'reader', 'secret'),
  sixChars,
  fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'x', 'y', 'z'), minLength: 1, maxLength: 8 }),
);
const name = fc
  .array(fc.tuple(part, fc.constantFrom('-', '/', '_')), { minLength: 1, maxLength: 4 })
  .map((parts) => parts.map(([p, sep], i) => (i === parts.length - 1 ? p : `${p}${sep}`)).join(''));

/** A world: secrets with unique names per scope, and "twins" whose names extend one another. */
const world = fc
  .array(
    fc.record({
      name: fc.oneof(
        name,
        name.chain((n) => sixChars.map((s) => `${n}-${s}`)),
      ),
      suffix: sixChars,
      home: fc.boolean(),
    }),
    { minLength: 1, maxLength: 6 },
  )
  .chain((seeds) => {
    // Twins: for some secrets, another whose name is it plus `-` and six characters.
    const twins = seeds
      .slice(0, 2)
      .map((seed) =>
        sixChars.chain((extra) =>
          sixChars.map((suffix) => ({ ...seed, name: `${seed.name}-${extra}`, suffix })),
        ),
      );
    return fc.tuple(fc.constant(seeds), ...twins).map(([base, ...more]) => [...base, ...more]);
  })
  .map((seeds) => {
    const unique = new Map<string, ModelSecret>();
    for (const seed of seeds) {
      const scope = seed.home ? HOME : OTHER;
      const key = `${scope.region}/${seed.name}`;
      if (!unique.has(key)) unique.set(key, { ...scope, name: seed.name, suffix: seed.suffix });
    }
    return [...unique.values()];
  });

/** Every way a task definition can point at each secret of the world, and at near misses. */
function referencesTo(secrets: readonly ModelSecret[]): string[] {
  return secrets.flatMap((secret) => [
    fullArn(secret),
    partialArn(secret),
    `${fullArn(secret)}:password::`,
    `${partialArn(secret)}:password::`,
    `${partialArn(secret)}::AWSCURRENT:`,
  ]);
}

describe('matching agrees with how Secrets Manager resolves a reference', () => {
  it('knowing the changed secret (its suffix): a reference matches exactly when it resolves to it', () => {
    fc.assert(
      fc.property(world, fc.nat(), (secrets, pick) => {
        const changed = secrets[pick % secrets.length];
        if (!changed) return;
        for (const value of referencesTo(secrets)) {
          const reference = parseReference(value, HOME, 'test');
          const modelSays =
            resolve(value.split(':').slice(0, 7).join(':'), secrets, HOME) === changed;
          const matched =
            reference?.kind === 'secret' && secretTargetMatches(reference.target, changed);
          expect(matched, `${value} against ${changed.name}-${changed.suffix}`).toBe(modelSays);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('with the suffix unknown (deleted for good): never misses a reference to it, and matches nothing but its name', () => {
    fc.assert(
      fc.property(world, fc.nat(), (secrets, pick) => {
        const changed = secrets[pick % secrets.length];
        if (!changed) return;
        const nameOnly = { ...changed, suffix: undefined };
        for (const value of referencesTo(secrets)) {
          const reference = parseReference(value, HOME, 'test');
          if (reference?.kind !== 'secret') continue;
          const matched = secretTargetMatches(reference.target, nameOnly);
          const id = value.split(':').slice(0, 7).join(':');
          if (resolve(id, secrets, HOME) === changed) expect(matched, value).toBe(true);
          if (matched) {
            // Only something Secrets Manager reads as this name (any suffix: an earlier secret of
            // the same name, deleted and re-created, had another).
            const asIfAnySuffix = resolve(id, [{ ...changed, suffix: id.slice(-6) }], HOME);
            const asPartial = resolve(id, [changed], HOME);
            expect(asIfAnySuffix !== undefined || asPartial !== undefined, value).toBe(true);
          }
        }
      }),
      { numRuns: 400 },
    );
  });

  it('examples from the documentation: partial ARNs of names ending in -XXXXXX are read as complete ARNs', () => {
    const db: ModelSecret = { ...HOME, name: 'prod/db', suffix: 'AbC123' };
    const backup: ModelSecret = { ...HOME, name: 'prod/db-backup', suffix: 'Xy9876' };
    const secrets = [db, backup];
    // prod/db-backup by partial ARN: Secrets Manager looks for prod/db with suffix "backup".
    expect(resolve(partialArn(backup), secrets, HOME)).toBeUndefined();
    expect(resolve(fullArn(backup), secrets, HOME)).toBe(backup);
    expect(resolve(partialArn(db), secrets, HOME)).toBe(db);
    // The function agrees: prod/db's change touches neither of prod/db-backup's references.
    for (const value of [partialArn(backup), fullArn(backup)]) {
      const reference = parseReference(value, HOME, 'test');
      expect(reference?.kind === 'secret' && secretTargetMatches(reference.target, db)).toBe(false);
    }
  });
});
