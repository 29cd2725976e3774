/**
 * The storage could not do its part: out of reach, overloaded or refusing (S3 down or
 * throttling, a bucket gone, credentials refused). Clients get `503 storage_unavailable` and may
 * retry; the cause is kept for the log. A host's own `AttachmentStorage` throws it for the same
 * cases; anything else it throws stays a 500, and an unknown key stays `ENOENT` (not_found).
 */
export class StorageUnavailableError extends Error {
  override readonly name = 'StorageUnavailableError';
}
