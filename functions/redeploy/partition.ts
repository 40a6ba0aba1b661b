/**
 * AWS partitions and Region names, in one grammar that events, ARNs, the function's
 * configuration, the CLI and the construct all use.
 *
 * Partitions (ARN reference, "partition"): `aws`, `aws-cn` (China), `aws-us-gov` (GovCloud),
 * `aws-iso`, `aws-iso-b`, `aws-iso-e`, `aws-iso-f` (the isolated Regions) and `aws-eusc` (AWS
 * European Sovereign Cloud).
 *
 * Region names are an area code of two to four letters (`us`, `eu`, `cn`, `il`, `eusc`), one or
 * more words (`east`, `gov-west`, `isob-east`, `de-east`) and a number: `us-east-1`,
 * `us-gov-west-1`, `cn-north-1`, `us-isob-east-1`, `eu-isoe-west-1`, `us-isof-south-1`,
 * `eusc-de-east-1`.
 */

export const PARTITIONS = [
  'aws',
  'aws-cn',
  'aws-us-gov',
  'aws-iso',
  'aws-iso-b',
  'aws-iso-e',
  'aws-iso-f',
  'aws-eusc',
] as const;

export type Partition = (typeof PARTITIONS)[number];

const PARTITION_SET: ReadonlySet<string> = new Set(PARTITIONS);

/** The partition pattern as regular-expression source, for patterns built around it. */
export const PARTITION_SOURCE = `(?:${PARTITIONS.join('|')})`;

/** The Region pattern as regular-expression source (no anchors). */
export const REGION_SOURCE = '[a-z]{2,4}(?:-[a-z]+)+-\\d{1,2}';

const REGION = new RegExp(`^${REGION_SOURCE}$`);

export function isPartition(value: string): value is Partition {
  return PARTITION_SET.has(value);
}

export function isRegion(value: string): boolean {
  return REGION.test(value);
}
