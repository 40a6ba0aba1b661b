/**
 * The workflow's engine on Lambda durable functions: steps are checkpointed operations, a wait
 * is a durable timer, and an early wake is a callback (SendDurableExecutionCallbackSuccess) whose
 * time-out is the wait itself.
 */
import { CallbackError, type DurableContext } from '@aws/durable-execution-sdk-js';
import type { Engine } from './workflow.js';

export function durableEngine(context: DurableContext): Engine {
  return {
    step: (name, work) => context.step(name, work),
    async wait(name, seconds, arm) {
      const duration = { seconds: Math.max(1, Math.round(seconds)) };
      if (!arm) {
        await context.wait(name, duration);
        return undefined;
      }
      try {
        // The payload passes through as the waker sent it (a JSON string).
        return await context.waitForCallback(
          name,
          async (callbackId) => {
            await arm(callbackId);
          },
          { timeout: duration },
        );
      } catch (error) {
        // Timed out (nothing happened: time to look anyway), or the wake could not be armed:
        // either way the next look finds out what ECS did.
        if (!(error instanceof CallbackError)) throw error;
        return undefined;
      }
    },
  };
}
