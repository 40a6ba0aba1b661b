/**
 * cdk-nag acknowledgements, one wildcard resource at a time.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
// cdk-nag names an IAM5 finding after the flattened resource; reuse its own flattening so each
// acknowledgement covers exactly one wildcard resource we chose, not the whole rule.
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference.js';

/**
 * Acknowledges the AwsSolutions-IAM5 finding of one wildcard `resource` granted by a policy at or
 * under `scope` (a role, or a policy of its own), with the reason it is needed.
 */
export function acknowledgeWildcard(scope: IConstruct, resource: string, reason: string): void {
  const flattened = flattenCfnReference(Stack.of(scope).resolve(resource));
  Validations.of(scope).acknowledge({
    id: `AwsSolutions-IAM5[Resource::${flattened}]`,
    reason,
  });
}
