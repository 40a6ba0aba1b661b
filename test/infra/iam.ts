/**
 * Helpers that read the IAM policies of a synthesised template.
 */
import type { Template } from 'aws-cdk-lib/assertions';

/** Actions that would read a secret or parameter value, or decrypt one. */
export const VALUE_READING_ACTIONS = [
  'secretsmanager:GetSecretValue',
  'secretsmanager:BatchGetSecretValue',
  'ssm:GetParameter',
  'ssm:GetParameters',
  'ssm:GetParametersByPath',
  'ssm:GetParameterHistory',
  'kms:Decrypt',
];

/** Every action granted by any IAM policy in the template, wildcards included. */
export function grantedActions(template: Template): string[] {
  const actions: string[] = [];
  const policies = {
    ...template.findResources('AWS::IAM::Policy'),
    ...template.findResources('AWS::IAM::Role'),
  };
  const collect = (document: unknown): void => {
    const statements = (document as { Statement?: unknown[] } | undefined)?.Statement ?? [];
    for (const statement of statements as { Effect: string; Action: string | string[] }[]) {
      if (statement.Effect !== 'Allow') continue;
      actions.push(...([] as string[]).concat(statement.Action));
    }
  };
  for (const resource of Object.values(policies)) {
    const props = resource.Properties as {
      PolicyDocument?: unknown;
      Policies?: { PolicyDocument: unknown }[];
      ManagedPolicyArns?: unknown[];
    };
    collect(props.PolicyDocument);
    for (const inline of props.Policies ?? []) collect(inline.PolicyDocument);
  }
  return actions;
}

/** Whether an IAM action pattern (with `*` wildcards) grants `action`. */
export function grants(pattern: string, action: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .split('*')
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
    'i',
  );
  return regex.test(action);
}

/** The statements of every IAM policy, with `Fn::Join`s of the partition resolved to strings. */
export function statements(template: Template): Record<string, unknown>[] {
  return flattenStatements(Object.values(template.findResources('AWS::IAM::Policy')));
}

/**
 * The statements of the policies attached to one role (its default policy and any policy of its
 * own), flattened as `statements` does. `roleId` is the role's logical id.
 */
export function roleStatements(template: Template, roleId: string): Record<string, unknown>[] {
  return flattenStatements(
    Object.values(template.findResources('AWS::IAM::Policy')).filter((policy) =>
      ((policy.Properties as { Roles?: unknown[] }).Roles ?? []).some(
        (role) => (role as { Ref?: string }).Ref === roleId,
      ),
    ),
  );
}

/** Every action granted to one role, sorted and without repeats. */
export function roleActions(template: Template, roleId: string): string[] {
  const actions = roleStatements(template, roleId).flatMap((statement) =>
    ([] as string[]).concat(statement.Action as string | string[]),
  );
  return [...new Set(actions)].sort();
}

function flattenStatements(
  policies: readonly { Properties?: unknown }[],
): Record<string, unknown>[] {
  const flatten = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(flatten);
    if (typeof value !== 'object' || value === null) return value;
    const object = value as Record<string, unknown>;
    const join = object['Fn::Join'] as [string, unknown[]] | undefined;
    if (join) {
      // Joined to a string when every part is one (the partition is `aws`); a join of other
      // references (`Fn::GetAtt`…) stays a join.
      const parts = join[1].map((part) => (isPartition(part) ? 'aws' : flatten(part)));
      return parts.every((part) => typeof part === 'string')
        ? parts.join(join[0])
        : { 'Fn::Join': [join[0], parts] };
    }
    return Object.fromEntries(Object.entries(object).map(([k, v]) => [k, flatten(v)]));
  };
  const isPartition = (part: unknown): boolean =>
    typeof part === 'object' &&
    part !== null &&
    (part as { Ref?: string }).Ref === 'AWS::Partition';
  return policies.flatMap(
    (policy) =>
      flatten(
        (policy.Properties as { PolicyDocument: { Statement: unknown[] } }).PolicyDocument
          .Statement,
      ) as Record<string, unknown>[],
  );
}
