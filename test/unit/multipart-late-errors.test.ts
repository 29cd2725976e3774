// busboy's own failures (a body cut off inside a part) reach the part's consumer classified as
// invalid_multipart; a consumer's own error on a part (a full disk, say) must stay what it is,
// also once a well-formed body has been parsed to its end.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { multipartFiles } from '../../src/attachments/http/multipart-files.js';
import type { ResolvedAttachmentsOptions } from '../../src/attachments/attachments.options.js';

const OPTIONS = {
  limits: { fields: 5, fieldSize: 100, parts: 10, filesPerRequest: 5 },
  uploadIdleTimeout: 60_000,
  uploadTimeout: 60_000,
} as unknown as ResolvedAttachmentsOptions;

function requestOf(body: string): IncomingMessage {
  const request = Readable.from([Buffer.from(body)]) as unknown as IncomingMessage;
  request.headers = { 'content-type': 'multipart/form-data; boundary=b' };
  request.complete = false;
  request.on('end', () => (request.complete = true));
  return request;
}

/** The next file's bytes; fails when there is no next file. */
async function nextPart(files: ReturnType<typeof multipartFiles>): Promise<Readable> {
  const next = await files.next();
  if (next.done || !next.value) throw new Error('no next file');
  return next.value.content as Readable;
}

const FILE_PART = '--b\r\nContent-Disposition: form-data; name="f"; filename="a.txt"\r\n\r\n';

test("a consumer's own error on a part of a well-formed body is not relabelled", async () => {
  const files = multipartFiles(requestOf(`${FILE_PART}hello\r\n--b\r\n${FILE_PART}again\r\n--b--\r\n`), OPTIONS);
  const part = await nextPart(files);
  // The consumer gives up on the part with an error of its own before reading it all.
  part.destroy(Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }));
  await assert.rejects(
    new Promise((_resolve, reject) => part.once('error', reject)),
    (error: NodeJS.ErrnoException) => error.code === 'ENOSPC',
  );
  assert.ok(await nextPart(files), 'the rest of the body still parses');
  await files.return(undefined);
});

test("a consumer's late error on a part read to its end, the body parsed, does not fail the request", async () => {
  const files = multipartFiles(requestOf(`${FILE_PART}hello\r\n--b--\r\n`), OPTIONS);
  const part = await nextPart(files);
  for await (const chunk of part) void chunk;
  // The parser has finished with the body (and destroyed itself) by now.
  await new Promise((resolve) => setImmediate(resolve));
  part.destroy(Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }));
  assert.equal((await files.next()).done, true);
});

test('a body cut off inside a part fails with invalid_multipart, however far the consumer got', async () => {
  const files = multipartFiles(requestOf(`${FILE_PART}hel`), OPTIONS);
  // The part may fail while it is read, or the parser before the part is handed out.
  await assert.rejects(
    (async () => {
      for await (const chunk of await nextPart(files)) void chunk;
      await files.next();
    })(),
    (error: { code?: string }) => error.code === 'invalid_multipart',
  );
});
