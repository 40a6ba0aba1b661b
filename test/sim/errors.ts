/**
 * The errors the simulated account answers with. Every simulated service throws `AwsError`; the
 * transport (transport.ts) renders it in the service's protocol: `{"__type": code, "message"}`
 * for the JSON protocols, an `<ErrorResponse>` document for awsQuery (SNS), an
 * `X-Amzn-ErrorType` header for restJson1 (Lambda).
 *
 * `SimUnsupportedError` is the sim's own "I do not know how to do this" (an expression syntax
 * or a parameter it does not model): it is answered as a 400 `ValidationException` whose message
 * starts with `[sim]`, never retried by the SDK, and also kept in `SimulatedAws.unsupported` so
 * a test can fail loudly instead of passing on a misevaluation.
 */

/** An error response of an AWS API. */
export class AwsError extends Error {
  override name = 'AwsError';

  /**
   * @param code the error code (`ThrottlingException`, `ServiceNotFoundException`, …)
   * @param message the human-readable message
   * @param status the HTTP status. @default 400
   * @param extra extra members of the error body (e.g. DynamoDB's `Item` on a failed condition)
   */
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    readonly extra: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
  }
}

/** Something the simulation deliberately does not model; answered as a loud 400. */
export class SimUnsupportedError extends AwsError {
  override name = 'SimUnsupportedError';

  constructor(what: string) {
    super('ValidationException', `[sim] not supported by the simulated account: ${what}`);
  }
}

/** The answer to an operation the simulation does not implement (it is still logged). */
export function notImplemented(service: string, operation: string, account: string): AwsError {
  return new AwsError(
    'AccessDeniedException',
    `User: arn:aws:sts::${account}:assumed-role/sim/test is not authorized to perform: ` +
      `${service}:${operation} (the simulated account does not implement it)`,
    service === 'lambda' ? 403 : 400,
  );
}
