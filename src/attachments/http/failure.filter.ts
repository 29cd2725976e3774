import { ArgumentsHost, Catch, HttpException } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import type { Response } from 'express';
import { AttachmentsException } from '../attachments.errors.js';

// Connection-level failures: node's socket errors, PostgreSQL's class 08 (connection
// exception) and 57P (shutdown / cannot connect now), and a busy SQLite file.
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  '57P01',
  '57P02',
  '57P03',
  '53300',
  'SQLITE_BUSY',
]);
const UNREACHABLE_MESSAGES =
  /Connection terminated|connection timeout|Client has encountered a connection error|terminating connection/i;

/**
 * Turns infrastructure failures into answers a client can act on: the database out of reach
 * → 503 (retry), the disk full → 507, each as the module's JSON error. The connection pool
 * reconnects by itself, so the service recovers without a restart when the database returns.
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
  const codes = [codeOf(error), codeOf((error as { driverError?: unknown } | null)?.driverError)];
  if (codes.some((code) => code === 'ENOSPC' || code === 'EDQUOT')) {
    return AttachmentsException.create('storage_full', undefined, { cause: error });
  }
  const message = error instanceof Error ? error.message : '';
  if (
    codes.some((code) => code !== undefined && (UNREACHABLE_CODES.has(code) || code.startsWith('08'))) ||
    UNREACHABLE_MESSAGES.test(message)
  ) {
    return AttachmentsException.create('database_unavailable', undefined, { cause: error });
  }
  return error;
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
