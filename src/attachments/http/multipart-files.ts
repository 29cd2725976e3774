import busboy from 'busboy';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { IncomingFile } from '../attachment.js';
import { AttachmentsException } from '../attachments.errors.js';
import type { ResolvedAttachmentsOptions } from '../attachments.options.js';

/**
 * The files of a multipart/form-data request, one at a time, as they arrive. Nothing is
 * buffered: each file's bytes flow from the socket to the consumer, and busboy reads the next
 * part only once the consumer has read this one. Non-file fields are ignored (upload widgets
 * send metadata fields beside the file), and so are the empty parts that a plain HTML form
 * sends for each file input left unused. If the consumer stops early or anything fails, the
 * rest of the body is drained so that the error response can still reach the client.
 */
export async function* multipartFiles(
  request: IncomingMessage & { res?: ServerResponse },
  options: Pick<ResolvedAttachmentsOptions, 'limits' | 'uploadIdleTimeout' | 'uploadTimeout'>,
): AsyncGenerator<IncomingFile> {
  const { limits } = options;
  // A client gone before its body was attached (while its owner was resolved): its 'close'
  // has fired already, and no byte will come (a whole body it had sent went with the request).
  if (request.readableAborted) throw AttachmentsException.create('client_aborted');
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: request.headers,
      preservePath: true,
      defParamCharset: 'utf8',
      // No `files`: busboy would count the empty parts of unused file inputs (see 'file' below).
      limits: { fields: limits.fields, fieldSize: limits.fieldSize, parts: limits.parts },
    });
  } catch (error) {
    abandon(request);
    throw AttachmentsException.create('invalid_multipart', (error as Error).message, { cause: error });
  }

  const waiting: IncomingFile[] = [];
  let current: Readable | undefined;
  let files = 0;
  let finished = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  const fail = (error: Error): Error => {
    failure ??= error;
    current?.destroy(failure);
    notify();
    return failure;
  };
  // When the body ends inside a part, busboy fails the parser and, from there, destroys the part
  // with its own plain Error, a tick before the parser reports it: the consumer, reading the
  // part, would fail with that unclassified error first (a 500 for the client's fault). So the
  // part's destroy classifies what comes while the parser has failed (no stream in between:
  // every byte of every upload would pay for one). A consumer's own error (a full disk, a failed
  // quota look-up) stays what it is, also after a body that parsed well.
  const classifyFailures = (part: Readable) => {
    const destroy = part.destroy.bind(part);
    part.destroy = (error?: Error) =>
      destroy(
        error === undefined || error instanceof AttachmentsException || !parser.errored || part.destroyed
          ? error
          : fail(AttachmentsException.create('invalid_multipart', error.message, { cause: error })),
      );
  };
  // A browser sends every unused file input as a part with `filename=""`, no bytes and the type
  // application/octet-stream (HTML's form-data encoding), which busboy makes a file without a
  // name: no file, not a badly named one, and none toward `filesPerRequest`. (busboy makes such
  // a part with another type a field, ignored as every field is.) A nameless file part that
  // does carry bytes is still refused.
  const skipEmptyInput = (part: Readable) => {
    part.on('data', (chunk: Buffer) => {
      if (chunk.byteLength > 0) fail(AttachmentsException.create('invalid_name', 'a file with content needs a name'));
    });
    part.resume();
  };

  parser.on('file', (_field, part, info) => {
    // Once nothing reads the part, busboy's error on it must not become an uncaught exception
    // (the parser reports it too, via `fail`).
    part.on('error', () => undefined);
    if (failure) return void part.resume();
    if (!info.filename) return skipEmptyInput(part);
    if (++files > limits.filesPerRequest) {
      part.resume();
      return void fail(AttachmentsException.create('too_many_files', `at most ${limits.filesPerRequest} per request`));
    }
    classifyFailures(part);
    waiting.push({ name: info.filename, content: part });
    notify();
  });
  parser.on('field', (_field, _value, info) => {
    if (info.valueTruncated || info.nameTruncated)
      fail(AttachmentsException.create('field_too_large', `at most ${limits.fieldSize} bytes`));
  });
  parser.on('partsLimit', () => fail(AttachmentsException.create('too_many_parts', `at most ${limits.parts} parts`)));
  parser.on('fieldsLimit', () => fail(AttachmentsException.create('too_many_parts', `at most ${limits.fields} fields`)));
  parser.on('error', (error: Error) => fail(AttachmentsException.create('invalid_multipart', error.message, { cause: error })));
  parser.on('close', () => {
    finished = true;
    notify();
  });
  // Closed before its end was read, not only before its end arrived: bytes still in the
  // request's buffer when the client went (backpressure held them) go with it, a complete
  // body's end among them, which the parser would await until uploadTimeout (the idle timer
  // is off once the body is complete).
  const onRequestClose = () => {
    if (request.readableAborted) fail(AttachmentsException.create('client_aborted'));
  };
  request.on('close', onRequestClose);
  const timeout = () => fail(AttachmentsException.create('upload_timeout'));
  // The idle timer measures the client's silence only: it counts while the request flows (the
  // parser waits for the client's bytes), not while backpressure holds the request (a file's
  // consumer still storing it, looking up the quota, inspecting it), nor once the whole body
  // is in. Backpressure pausing the request is the signal, so a file that is read as fast as
  // it arrives keeps the timer running.
  const idleTimer = setTimeout(() => {
    if (!request.complete && !request.isPaused()) timeout();
  }, options.uploadIdleTimeout);
  const totalTimer = setTimeout(timeout, options.uploadTimeout);
  const onClientBytesAwaited = () => idleTimer.refresh();
  request.on('data', onClientBytesAwaited);
  request.on('resume', onClientBytesAwaited);
  request.pipe(parser);

  try {
    for (;;) {
      if (failure) throw failure;
      const next = waiting.shift();
      if (next) {
        current = next.content as Readable;
        yield next;
        // A consumer that skipped a file must not stall the parser.
        if (!current.readableEnded && !current.destroyed) current.resume();
        current = undefined;
        continue;
      }
      if (finished) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    clearTimeout(idleTimer);
    clearTimeout(totalTimer);
    request.off('close', onRequestClose);
    request.off('data', onClientBytesAwaited);
    request.off('resume', onClientBytesAwaited);
    if (!finished) {
      request.unpipe(parser);
      parser.removeAllListeners('file');
      current?.destroy();
      abandon(request);
    }
  }
}

/**
 * Stops caring about the rest of a body: it is read and discarded (so the client, still
 * sending, gets our error response), and the connection closes after that response instead of
 * waiting for a slow or endless body.
 */
function abandon(request: IncomingMessage & { res?: ServerResponse }): void {
  if (request.res && !request.res.headersSent) request.res.setHeader('Connection', 'close');
  request.resume();
}
