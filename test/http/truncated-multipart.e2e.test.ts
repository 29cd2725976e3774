// A body that ends inside a file part (a client cut off, a proxy that gave up) is the client's
// fault: 400 invalid_multipart, nothing stored, nothing logged as an error. Proven for a file
// small enough to travel with its row and for one that goes to the storage, since their
// consumers read the part differently.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DATABASE_KINDS } from '../support/databases.js';
import { multipartBody, rawRequest } from '../support/raw-http.js';
import { CollectingLogger, startApp, type RunningApp } from '../support/test-app.js';
import { Visitor } from '../support/visitor.js';

const BOUNDARY = 'cut-off-boundary';
const filePart = (name: string, content: string | Buffer) => ({
  headers: [`Content-Disposition: form-data; name="f"; filename="${name}"`, 'Content-Type: application/octet-stream'],
  content,
});
/** Parts as sent, then the body cut off just before the CRLF that would end the last part. */
const cutInsideLastPart = (parts: Array<ReturnType<typeof filePart>>) => {
  const body = multipartBody(BOUNDARY, parts, false);
  return body.subarray(0, body.byteLength - 2);
};

// Larger than the default inlineMaxSize (64kb), so it is written to the storage.
const STORED_SIZE = 200 * 1024;

for (const kind of DATABASE_KINDS) {
  describe(`a body cut off inside a file part, on ${kind}`, () => {
    let running: RunningApp;
    const logger = new CollectingLogger();
    before(async () => {
      running = await startApp(kind, { logger });
    });
    after(() => running.close());

    const send = async (bundle: string, body: Buffer) => {
      const visitor = new Visitor(running.baseUrl);
      await visitor.json(`/attachments/${bundle}`);
      const rowsBefore = await running.rowCount();
      logger.entries.length = 0;
      const response = await rawRequest(
        running.baseUrl,
        'POST',
        `/attachments/${bundle}`,
        { cookie: visitor.cookie ?? '', 'content-type': `multipart/form-data; boundary=${BOUNDARY}` },
        body,
      );
      assert.equal(response.status, 400, response.body);
      assert.equal((JSON.parse(response.body) as { code: string }).code, 'invalid_multipart');
      assert.equal(await running.rowCount(), rowsBefore);
      assert.deepEqual(await visitor.names(bundle), []);
      assert.equal(await running.temporaryCount(), 0);
      assert.deepEqual(
        logger.entries.filter((entry) => entry.level === 'error' || entry.level === 'fatal'),
        [],
      );
    };

    test('a small file, the only one → 400 invalid_multipart', async () => {
      await send('small', cutInsideLastPart([filePart('cut.txt', 'hello')]));
    });

    test('a file bound for the storage, the only one → 400 invalid_multipart', async () => {
      await send('stored', cutInsideLastPart([filePart('cut.bin', Buffer.alloc(STORED_SIZE, 7))]));
    });

    test('the second file, after a complete first one → 400 invalid_multipart', async () => {
      await send('second', cutInsideLastPart([filePart('whole.txt', 'complete'), filePart('cut.txt', 'partial')]));
      await send(
        'second-stored',
        cutInsideLastPart([
          filePart('whole.bin', Buffer.alloc(STORED_SIZE, 1)),
          filePart('cut.bin', Buffer.alloc(STORED_SIZE, 2)),
        ]),
      );
    });
  });
}
