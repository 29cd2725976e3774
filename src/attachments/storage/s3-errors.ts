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
 * Whether S3 is out of reach or refuses to work, for a while or until someone fixes its
 * configuration: its network layer failing, a server error (5xx), throttling (429, SlowDown),
 * a bucket gone, credentials or permissions refused (403). Not its other 4xx answers
 * (InvalidRange, MalformedXML, EntityTooSmall…): those say a request of ours was wrong, a bug
 * that must stay a logged 500, not become a 503 that tells the client to retry.
 */
export function isS3Unavailable(error: unknown): boolean {
  const failure = error as (S3Failure & { $fault?: unknown }) | undefined;
  if (failure === undefined || failure === null || typeof failure !== 'object') return false;
  if (failure.name === 'TimeoutError' || (typeof failure.code === 'string' && NETWORK_CODES.has(failure.code))) return true;
  const status = statusOf(error);
  if (status === undefined) return failure.$fault === 'server';
  return status >= 500 || status === 429 || status === 403 || failure.name === 'NoSuchBucket' || failure.name === 'SlowDown';
}

/** One line for a log or an error message: the HTTP status and code, or the network error. */
export function describeS3Failure(error: unknown): string {
  const failure = (error ?? {}) as S3Failure;
  const status = statusOf(error);
  const what = failure.code ?? failure.name ?? 'Error';
  return status !== undefined ? `${status} ${what}` : `${what}: ${failure.message ?? String(error)}`;
}
