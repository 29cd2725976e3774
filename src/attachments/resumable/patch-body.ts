import type { IncomingMessage, ServerResponse } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import type { ResolvedAttachmentsOptions } from '../attachments.options.js';

/** How the body of a PATCH came to its end. */
export type BodyEnd = 'complete' | 'client_gone' | 'timed_out';

/** A PATCH's body as the service reads it: bytes that end cleanly, whatever the client did. */
export interface PatchBody {
  stream: Readable;
  /** The request's Content-Length, when it sent one. */
  declaredLength: number | undefined;
  /** How it ended (known once `stream` has ended). */
  end(): BodyEnd;
  /** Stops caring about the rest: it is drained, and the connection closes after the answer. */
  abandon(): void;
}

/**
 * The request's bytes through a PassThrough that ends without an error when the client goes
 * away or stalls (`uploadIdleTimeout`, `uploadTimeout`), so that what arrived is stored and
 * counted: tus lets the client resume from there. The request itself is never handed on, so no
 * stage below sees its abort as a failure (which would discard the bytes).
 */
export function patchBody(
  request: IncomingMessage & { res?: ServerResponse },
  options: Pick<ResolvedAttachmentsOptions, 'uploadIdleTimeout' | 'uploadTimeout'>,
): PatchBody {
  const stream = new PassThrough();
  let ending: BodyEnd = 'complete';
  const stop = (why: BodyEnd) => {
    if (stream.writableEnded) return;
    ending = why;
    request.unpipe(stream);
    stream.end();
  };
  const idle = setTimeout(() => stop('timed_out'), options.uploadIdleTimeout);
  const total = setTimeout(() => stop('timed_out'), options.uploadTimeout);
  const onData = () => idle.refresh();
  const settle = () => {
    clearTimeout(idle);
    clearTimeout(total);
    request.off('data', onData);
  };
  // An aborted request reports an error too; its end is what counts here.
  request.on('error', () => undefined);
  request.on('data', onData);
  request.once('close', () => {
    settle();
    if (!request.complete) stop('client_gone');
  });
  stream.once('end', settle);
  stream.once('close', settle);
  request.pipe(stream);
  // A client gone before the body was attached (while its owner was resolved): its 'close'
  // has fired already, and no byte will come.
  if (request.readableAborted) {
    settle();
    stop('client_gone');
  }
  const header = request.headers['content-length'];
  const declaredLength = header !== undefined && /^\d+$/.test(header) ? Number(header) : undefined;
  return {
    stream,
    declaredLength,
    end: () => ending,
    abandon: () => {
      settle();
      request.unpipe(stream);
      if (request.res && !request.res.headersSent) request.res.setHeader('Connection', 'close');
      request.resume();
    },
  };
}
