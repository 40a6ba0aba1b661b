/**
 * Fixture events and documents from `test/events/<source>/<case>.json`.
 *
 * Each call returns a fresh copy, so a test may change what it loaded without affecting others.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export type JsonObject = Record<string, unknown>;

const EVENTS_DIR = fileURLToPath(new URL('../events/', import.meta.url));

/** Loads `test/events/<path>` (for example `ssm/parameter-store-change-update.awsdocs.json`). */
export function loadFixture(path: string): JsonObject {
  const parsed: unknown = JSON.parse(readFileSync(`${EVENTS_DIR}${path}`, 'utf8'));
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`fixture ${path} is not a JSON object`);
  }
  return parsed as JsonObject;
}

/** The `detail` of a fixture event, for tests that change one field of it. */
export function detailOf(event: JsonObject): JsonObject {
  const { detail } = event;
  if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) {
    throw new Error('the fixture has no detail object');
  }
  return detail as JsonObject;
}

/**
 * A fixture event moved to another Region and account: every occurrence of the sample's own
 * Region and account (envelope, ARNs, CloudTrail fields) is replaced. For end-to-end tests whose
 * ECS services live in one home scope.
 */
export function relocatedFixture(
  path: string,
  from: { readonly region: string; readonly account: string },
  to: { readonly region: string; readonly account: string },
): JsonObject {
  const text = JSON.stringify(loadFixture(path))
    .replaceAll(from.region, to.region)
    .replaceAll(from.account, to.account);
  return JSON.parse(text) as JsonObject;
}
