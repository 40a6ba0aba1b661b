/** Named errors. Each says what failed in words an operator can act on. */

export class RedeployerError extends Error {
  override name = 'RedeployerError';
}

/** The function's environment is invalid; raised at initialisation. */
export class ConfigError extends RedeployerError {
  override name = 'ConfigError';
}

/** Some services could not be redeployed; thrown after every other service was handled. */
export class RedeployFailedError extends RedeployerError {
  override name = 'RedeployFailedError';
}

/** The error's AWS error name (`ThrottlingException`, …), or its class name. */
export function errorName(error: unknown): string {
  if (error instanceof Error) return error.name;
  return typeof error;
}

/** A one-line, value-free description of an error. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`.slice(0, 500);
  return String(error).slice(0, 500);
}
