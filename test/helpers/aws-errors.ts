/** An AWS SDK-style service error, for error codes the SDK has no class for (AccessDenied…). */
export function awsError(name: string, message = name): Error {
  return Object.assign(new Error(message), {
    name,
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
  });
}
