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

/** Errors of the SDK's network layer: S3 was not reached, or stopped answering. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/**
 * Whether an error is S3's (an answer of the service, with its status, or its network layer
 * failing), as opposed to one of our own (a source that failed, a key refused).
 */
export function isS3Failure(error: unknown): boolean {
  const failure = error as (S3Failure & { $fault?: unknown }) | undefined;
  if (failure === undefined || failure === null || typeof failure !== 'object') return false;
  return (
    failure.$metadata !== undefined ||
    failure.$fault !== undefined ||
    failure.name === 'TimeoutError' ||
    (typeof failure.code === 'string' && NETWORK_CODES.has(failure.code))
  );
}

/** One line for a log or an error message: the HTTP status and code, or the network error. */
export function describeS3Failure(error: unknown): string {
  const failure = (error ?? {}) as S3Failure;
  const status = statusOf(error);
  const what = failure.code ?? failure.name ?? 'Error';
  return status !== undefined ? `${status} ${what}` : `${what}: ${failure.message ?? String(error)}`;
}
