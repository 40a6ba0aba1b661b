/**
 * The SDK's standard retry decision (@smithy/core retry `StandardRetryStrategy`: retry
 * THROTTLING and TRANSIENT errors — throttling codes, 5xx, ECONNRESET/timeouts — up to
 * `maxAttempts`; back off exponentially from 100 ms, or 500 ms after throttling, capped at 20 s),
 * with the backoff spent in SIM time: instead of sleeping, each retry advances the sim clock by
 * its delay, so throttling buckets refill and deployments progress exactly as they would while a
 * real client waited. No jitter (the SDK's full jitter would make tests random) and no retry
 * quota; otherwise the same decisions.
 */

/** What the SDK's retry middleware hands a strategy about a failed attempt. */
interface RetryErrorInfo {
  readonly errorType: 'THROTTLING' | 'TRANSIENT' | 'SERVER_ERROR' | 'CLIENT_ERROR';
}

/** A retry token (the SDK's `RetryToken`). */
export interface SimRetryToken {
  getRetryCount(): number;
  getRetryDelay(): number;
}

/** A retry strategy for SDK clients (`retryStrategy` client option, the SDK's RetryStrategyV2). */
export interface SimRetryStrategy {
  readonly mode: 'standard';
  acquireInitialRetryToken(scope: string): Promise<SimRetryToken>;
  refreshRetryTokenForRetry(
    token: SimRetryToken,
    errorInfo: RetryErrorInfo,
  ): Promise<SimRetryToken>;
  recordSuccess(token: SimRetryToken): void;
}

const token = (count: number): SimRetryToken => ({
  getRetryCount: () => count,
  // The delay was spent in sim time already: the SDK must not sleep.
  getRetryDelay: () => 0,
});

/** A standard-mode retry strategy whose backoff advances `advance` (the sim clock) instead. */
export function simRetryStrategy(
  maxAttempts: number,
  advance: (ms: number) => void,
): SimRetryStrategy {
  return {
    mode: 'standard',
    acquireInitialRetryToken: () => Promise.resolve(token(0)),
    refreshRetryTokenForRetry: (previous, errorInfo) => {
      const retryable = errorInfo.errorType === 'THROTTLING' || errorInfo.errorType === 'TRANSIENT';
      const count = previous.getRetryCount();
      if (!retryable || count + 1 >= maxAttempts) {
        return Promise.reject(new Error('No retry token available'));
      }
      const base = errorInfo.errorType === 'THROTTLING' ? 500 : 100;
      advance(Math.min(20_000, base * 2 ** count));
      return Promise.resolve(token(count + 1));
    },
    recordSuccess: () => undefined,
  };
}
