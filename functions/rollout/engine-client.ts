/**
 * Starting the rollout engine and waking it, from the change handler: a durable execution named
 * after the rollout, so however many invocations start it, one runs (Lambda refuses a second
 * execution of the same name); and a callback that ends its current wait early.
 */
import {
  InvokeCommand,
  type LambdaClient,
  SendDurableExecutionCallbackSuccessCommand,
} from '@aws-sdk/client-lambda';
import { errorName } from '../redeploy/errors.js';
import { executionName } from './identity.js';

export type LambdaLike = Pick<LambdaClient, 'send'>;

export interface EngineControl {
  /** Starts the engine for the rollout; idempotent for one (rollout, attempt). */
  start(rolloutId: string, attempt: number): Promise<string>;
  /** Ends the engine's current wait; false when there was nothing to wake. */
  wake(wakeId: string, reason: string): Promise<boolean>;
}

export class LambdaEngineControl implements EngineControl {
  constructor(
    private readonly lambda: LambdaLike,
    /** The durable function, qualified (an alias or version): durable executions need one. */
    private readonly functionArn: string,
  ) {}

  async start(rolloutId: string, attempt: number): Promise<string> {
    const name = executionName(rolloutId, attempt);
    try {
      await this.lambda.send(
        new InvokeCommand({
          FunctionName: this.functionArn,
          InvocationType: 'Event',
          DurableExecutionName: name,
          Payload: new TextEncoder().encode(JSON.stringify({ rolloutId })),
        }),
      );
    } catch (error) {
      // An execution of that name exists already: it is the one we want.
      if (errorName(error) !== 'DurableExecutionAlreadyStartedException') throw error;
    }
    return name;
  }

  wake(wakeId: string, reason: string): Promise<boolean> {
    return wakeEngine(this.lambda, wakeId, reason);
  }
}

/**
 * Ends the wait the callback `wakeId` belongs to; false when there was nothing to wake (the wait
 * ended already: timed out, or woken by another event).
 */
export async function wakeEngine(
  lambda: LambdaLike,
  wakeId: string,
  reason: string,
): Promise<boolean> {
  try {
    await lambda.send(
      new SendDurableExecutionCallbackSuccessCommand({
        CallbackId: wakeId,
        Result: new TextEncoder().encode(JSON.stringify({ reason })),
      }),
    );
    return true;
  } catch {
    return false;
  }
}
