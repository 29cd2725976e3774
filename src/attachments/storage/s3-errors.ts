// How S3Storage tells S3's answers apart. The SDK's errors carry the service's error code as
// `name` and the HTTP status in `$metadata`; a HEAD answer has no body, hence no code, only
// its status.

interface S3Failure {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

const statusOf = (error: unknown) => (error as S3Failure | undefined)?.$metadata?.httpStatusCode;

/**
 * An object that is not there: NoSuchKey, or a 404 without a body (HEAD). Not a bucket that is
 * not there (also a 404): that is the storage failing, not a file gone, and must not answer
 * `not_found` (nor make a stored preview's row be forgotten).
 */
export function isMissingObject(error: unknown): boolean {
  const name = (error as S3Failure | undefined)?.name;
  if (name === 'NoSuchBucket') return false;
  return name === 'NoSuchKey' || name === 'NotFound' || statusOf(error) === 404;
}

export function isMissingBucket(error: unknown): boolean {
  return (error as S3Failure | undefined)?.name === 'NoSuchBucket' || statusOf(error) === 404;
}

/** One line for a log or an error message: the HTTP status and code, or the network error. */
export function describeS3Failure(error: unknown): string {
  const failure = (error ?? {}) as S3Failure;
  const status = statusOf(error);
  const what = failure.code ?? failure.name ?? 'Error';
  return status !== undefined ? `${status} ${what}` : `${what}: ${failure.message ?? String(error)}`;
}
