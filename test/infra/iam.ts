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
  const flatten = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(flatten);
    if (typeof value !== 'object' || value === null) return value;
    const object = value as Record<string, unknown>;
    const join = object['Fn::Join'] as [string, unknown[]] | undefined;
    if (join) {
      return join[1].map((part) => (isPartition(part) ? 'aws' : flatten(part))).join(join[0]);
    }
    return Object.fromEntries(Object.entries(object).map(([k, v]) => [k, flatten(v)]));
  };
  const isPartition = (part: unknown): boolean =>
    typeof part === 'object' &&
    part !== null &&
    (part as { Ref?: string }).Ref === 'AWS::Partition';
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
    (policy) =>
      flatten(
        (policy.Properties as { PolicyDocument: { Statement: unknown[] } }).PolicyDocument
          .Statement,
      ) as Record<string, unknown>[],
  );
}
