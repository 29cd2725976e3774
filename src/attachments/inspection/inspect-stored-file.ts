import { Logger } from '@nestjs/common';
import type { Readable } from 'node:stream';
import { AttachmentsException } from '../attachments.errors.js';
import { formatDuration } from '../durations.js';
import { AttachmentRejected } from './attachment-rejected.js';
import type { InspectedFile, InspectHook } from './inspect-hook.js';

const logger = new Logger('Attachments');

/**
 * Shows one stored file to the host's hook and turns its verdict into the upload's answer:
 * `AttachmentRejected` → `file_rejected` (422, its message for the visitor); anything else, or
 * no answer within `timeout` (the hook's signal aborts) → `inspection_unavailable` (503). A
 * hook that ignores its signal is not waited for: the upload answers at the time limit.
 */
export async function inspectStoredFile(
  hook: InspectHook,
  timeout: number,
  file: Omit<InspectedFile, 'stream'>,
  stream: Readable,
): Promise<void> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new Error(`the inspection took longer than ${formatDuration(timeout)}`);
      controller.abort(error);
      reject(error);
    }, timeout);
  });
  const verdict = Promise.resolve().then(() => hook({ ...file, stream }, controller.signal));
  // Once the time limit has answered, a late rejection of the hook has nobody to tell.
  verdict.catch(() => undefined);
  try {
    await Promise.race([verdict, timedOut]);
  } catch (error) {
    if (error instanceof AttachmentRejected && !controller.signal.aborted) {
      throw AttachmentsException.create('file_rejected', error.message, { cause: error });
    }
    logger.warn(`The inspect hook failed for a file; the upload is refused with 503: ${String(error)}`);
    throw AttachmentsException.create('inspection_unavailable', undefined, { cause: error });
  } finally {
    clearTimeout(timer);
    stream.destroy();
  }
}
