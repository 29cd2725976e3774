import { ArgumentsHost, Catch, HttpException, Logger } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import type { Response } from 'express';
import { AttachmentsException } from '../attachments.errors.js';
import { DatabaseFailure } from '../persistence/database-failure.js';
import { StorageUnavailableError } from '../storage/storage-unavailable.js';

/**
 * Renders what the service could not: the disk full → 507 (the storage's ENOSPC/EDQUOT), a
 * storage out of reach → 503 (StorageUnavailableError, its cause logged), as the module's JSON
 * error. The module's own database failures arrive already classified (the persistence layer
 * knows its drivers; the service answers `database_unavailable`); on a host route that uses
 * this filter, an outage of its own database calls is classified here and answered the same
 * way.
 */
@Catch()
export class AttachmentsFailureFilter extends BaseExceptionFilter {
  override catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    // A download that failed mid-stream: the status line is gone, only closing is left.
    if (response.headersSent) {
      response.destroy();
      return;
    }
    super.catch(translateFailure(exception), host);
  }
}

export function translateFailure(error: unknown): unknown {
  if (error instanceof HttpException) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return AttachmentsException.create('storage_full', undefined, { cause: error });
  if (error instanceof StorageUnavailableError) {
    logStorageOutage(error);
    return AttachmentsException.create('storage_unavailable', undefined, { cause: error });
  }
  // A host route's own database call arrives unclassified: the same outage, the same 503.
  const failure = error instanceof DatabaseFailure ? error : DatabaseFailure.fromAnyDriver(error);
  return failure.unavailable ? AttachmentsException.create('database_unavailable', undefined, { cause: error }) : error;
}

const storageLogger = new Logger('AttachmentsStorage');
/** When the last storage outage line was written: an outage answers every request with one. */
let storageLoggedAt = Number.NEGATIVE_INFINITY;

/** The cause of a 503 storage_unavailable, which Nest does not log (an HttpException): one line per 10 s at most. */
function logStorageOutage(error: StorageUnavailableError): void {
  const now = Date.now();
  if (now - storageLoggedAt < 10_000) return;
  storageLoggedAt = now;
  storageLogger.warn(`Answering 503 storage_unavailable: ${error.message}`);
}
