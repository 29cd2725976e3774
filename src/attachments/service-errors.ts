import { AttachmentsException } from './attachments.errors.js';
import { DatabaseFailure } from './persistence/database-failure.js';
import type { BundleQuotas, QuotaRefusal } from './persistence/quotas.js';

/** A database out of reach is `database_unavailable` (503, retry); anything else stays as it is. */
export function serviceError(error: unknown): unknown {
  return error instanceof DatabaseFailure && error.unavailable
    ? AttachmentsException.create('database_unavailable', undefined, { cause: error })
    : error;
}

export function rethrowServiceError(error: unknown): never {
  throw serviceError(error);
}

/** A refusal of the persistence layer as the client-facing error, naming the limit. */
export function refusalError(refusal: QuotaRefusal, quotas: BundleQuotas): AttachmentsException {
  switch (refusal) {
    case 'bundle_full':
      return AttachmentsException.create(refusal, `at most ${quotas.filesPerBundle} files`);
    case 'too_many_bundles':
      return AttachmentsException.create(refusal, `at most ${quotas.bundlesPerSession} bundles`);
    case 'session_quota_exceeded':
      return AttachmentsException.create(refusal, `at most ${quotas.bytesPerSession} bytes per session`);
  }
}
