/**
 * Which staging labels a change moves, and which references a removed label breaks.
 */
import { describe, expect, it } from 'vitest';
import {
  AWSCURRENT,
  type SecretChange,
  isAffected,
  stagesMovedBy,
} from '../../../functions/redeploy/change.js';
import { type Reference, parseReference } from '../../../functions/redeploy/references.js';

const HOME = { partition: 'aws', region: 'us-east-1', account: '123456789012' };
const SM = 'arn:aws:secretsmanager:us-east-1:123456789012:secret';

function ref(valueFrom: string): Reference {
  const parsed = parseReference(valueFrom, HOME, 'container app: secrets[X]');
  if (parsed === undefined) throw new Error(`not a reference: ${valueFrom}`);
  return parsed;
}

const labelRemoved = (stages: string[]): SecretChange => ({
  kind: 'secret',
  eventId: 'evt-1',
  time: new Date('2025-03-14T09:26:53Z'),
  trigger: 'UpdateSecretVersionStage (blue removed)',
  action: 'label-removed',
  secret: { ...HOME, name: 'prod/orders/db', suffix: 'Xy12Ab' },
  stages,
});

describe('stagesMovedBy', () => {
  it('ignores an empty label: no reference can be pinned to it', () => {
    expect(stagesMovedBy([''])).toEqual([]);
  });

  it('lists the moved labels in sorted order, whatever order they came in', () => {
    expect(stagesMovedBy(['blue', AWSCURRENT])).toEqual(['AWSCURRENT', 'AWSPREVIOUS', 'blue']);
  });
});

describe('isAffected by a removed label', () => {
  it('breaks only references pinned to the removed label', () => {
    const change = labelRemoved(['blue']);

    expect(isAffected(ref(`${SM}:prod/orders/db:password:blue:`), change)).toBe(true);
    expect(isAffected(ref(`${SM}:prod/orders/db:password:green:`), change)).toBe(false);
  });

  it('never breaks a reference without a pinned label, even if the removal names AWSCURRENT', () => {
    // References without a label read AWSCURRENT, which Secrets Manager never leaves unassigned.
    expect(isAffected(ref(`${SM}:prod/orders/db`), labelRemoved([AWSCURRENT]))).toBe(false);
  });
});
