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
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: request.headers,
      preservePath: true,
      defParamCharset: 'utf8',
      limits: {
        files: limits.filesPerRequest,
        fields: limits.fields,
        fieldSize: limits.fieldSize,
        parts: limits.parts,
        headerPairs: limits.headerPairs,
      },
    });
  } catch (error) {
    abandon(request);
    throw AttachmentsException.create('invalid_multipart', (error as Error).message, { cause: error });
  }

  const waiting: IncomingFile[] = [];
  let current: Readable | undefined;
  let finished = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  const fail = (error: Error) => {
    failure ??= error;
    current?.destroy(failure);
    notify();
  };
  // A browser sends every unused file input as a part with `filename=""`, no bytes and the type
  // application/octet-stream (busboy makes that a file without a name): no file, not a badly
  // named one. A nameless file part that does carry bytes is still refused.
  const skipEmptyInput = (stream: Readable) => {
    stream.on('data', (chunk: Buffer) => {
      if (chunk.byteLength > 0) fail(AttachmentsException.create('invalid_name', 'a file with content needs a name'));
    });
    stream.resume();
  };

  parser.on('file', (_field, stream, info) => {
    // busboy reports a truncated body on the file stream too; once its consumer has stopped
    // listening, that error must not become an uncaught exception (it is reported via `fail`).
    stream.on('error', () => undefined);
    if (failure) return void stream.resume();
    if (!info.filename) return skipEmptyInput(stream);
    waiting.push({ name: info.filename, content: stream });
    notify();
  });
  parser.on('field', (_field, _value, info) => {
    if (info.valueTruncated || info.nameTruncated)
      fail(AttachmentsException.create('field_too_large', `at most ${limits.fieldSize} bytes`));
  });
  parser.on('filesLimit', () =>
    fail(AttachmentsException.create('too_many_files', `at most ${limits.filesPerRequest} per request`)),
  );
  parser.on('partsLimit', () => fail(AttachmentsException.create('too_many_parts', `at most ${limits.parts} parts`)));
  parser.on('fieldsLimit', () => fail(AttachmentsException.create('too_many_parts', `at most ${limits.fields} fields`)));
  parser.on('error', (error: Error) => fail(AttachmentsException.create('invalid_multipart', error.message, { cause: error })));
  parser.on('close', () => {
    finished = true;
    notify();
  });
  const onRequestClose = () => {
    if (!request.complete) fail(AttachmentsException.create('client_aborted'));
  };
  request.on('close', onRequestClose);
  const timeout = () => fail(AttachmentsException.create('upload_timeout'));
  const idleTimer = setTimeout(timeout, options.uploadIdleTimeout);
  const totalTimer = setTimeout(timeout, options.uploadTimeout);
  const onData = () => idleTimer.refresh();
  request.on('data', onData);
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
    request.off('data', onData);
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
