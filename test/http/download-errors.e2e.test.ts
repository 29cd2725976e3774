// A download that ends in an error answers with the error alone: none of the file's headers
// (its name, its ETag, its type), and nothing for the server log to warn about.
import assert from 'node:assert/strict';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { DATABASE_KINDS } from '../support/databases.js';
import { CollectingLogger, startApp, type RunningApp } from '../support/test-app.js';
import { Visitor, type AttachmentBody } from '../support/visitor.js';

const FILE_HEADERS = ['content-disposition', 'last-modified', 'accept-ranges', 'content-security-policy'];

for (const kind of DATABASE_KINDS) {
  describe(`download errors on ${kind}`, () => {
    let running: RunningApp;
    let logger: CollectingLogger;
    before(async () => {
      logger = new CollectingLogger();
      // Its test removes blob files behind their rows: every file in the storage.
      running = await startApp(kind, { logger, attachments: { inlineMaxSize: 0 } });
    });
    after(() => running.close());
    beforeEach(() => {
      logger.entries.length = 0;
    });

    const uploadDigits = async (bundle: string) => {
      const visitor = new Visitor(running.baseUrl);
      const response = await visitor.upload(`/attachments/${bundle}`, [['f', 'digits.txt', '0123456789']]);
      assert.equal(response.status, 201);
      const [stored] = (await response.json()) as AttachmentBody[];
      return { visitor, etag: `"${stored!.sha256}"` };
    };
    const blobPaths = async () => {
      const entries = await readdir(join(running.attachmentsDirectory, 'blobs'), { recursive: true, withFileTypes: true });
      return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
    };
    const assertOnlyTheError = (response: Response, etag: string) => {
      for (const header of FILE_HEADERS) assert.equal(response.headers.get(header), null, header);
      assert.notEqual(response.headers.get('etag'), etag);
      assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    };

    test('416 carries Content-Range */size and the JSON error, not the file headers, and logs no warning', async () => {
      const { visitor, etag } = await uploadDigits('range');
      const response = await visitor.get('/attachments/range/digits.txt', { range: 'bytes=20-30' });
      assert.equal(response.status, 416);
      assert.equal(response.headers.get('content-range'), 'bytes */10');
      assertOnlyTheError(response, etag);
      assert.equal(((await response.json()) as { code: string }).code, 'range_not_satisfiable');
      assert.deepEqual(logger.problems(), []);
    });

    test('bytes gone from the disk behind their row → 404 not_found JSON, not the file headers, no warning', async () => {
      const before = await blobPaths();
      const { visitor, etag } = await uploadDigits('gone');
      const added = (await blobPaths()).filter((path) => !before.includes(path));
      assert.equal(added.length, 1);
      await rm(added[0]!);
      const response = await visitor.get('/attachments/gone/digits.txt');
      assert.equal(response.status, 404);
      assertOnlyTheError(response, etag);
      assert.equal(((await response.json()) as { code: string }).code, 'not_found');
      assert.deepEqual(logger.problems(), []);
    });

    test('the file answers still carry the file headers: 200, 206 and 304', async () => {
      const { visitor, etag } = await uploadDigits('ok');
      for (const [headers, status] of [
        [{}, 200],
        [{ range: 'bytes=0-1' }, 206],
        [{ 'if-none-match': etag }, 304],
      ] as const) {
        const response = await visitor.get('/attachments/ok/digits.txt', headers);
        await response.arrayBuffer();
        assert.equal(response.status, status);
        assert.equal(response.headers.get('etag'), etag, String(status));
        assert.match(response.headers.get('content-disposition') ?? '', /^attachment;/, String(status));
      }
      assert.deepEqual(logger.problems(), []);
    });
  });
}
