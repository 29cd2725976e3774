// tus 1.0 over real HTTP: every method and extension the module offers, and its refusals.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { DATABASE_KINDS } from '../support/databases.js';
import { CollectingLogger, startApp, type RunningApp } from '../support/test-app.js';
import { createUpload, headUpload, patchUpload } from '../support/tus.js';
import { Visitor, type AttachmentBody } from '../support/visitor.js';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

for (const kind of DATABASE_KINDS) {
  describe(`tus protocol on ${kind}`, () => {
    let running: RunningApp;
    before(async () => {
      running = await startApp(kind, { attachments: { inlineMaxSize: 0 }, logger });
    });
    const logger = new CollectingLogger();
    after(() => running.close());

    test('creation, PATCHes, finish: the file appears in the list only after the last byte', async () => {
      const visitor = new Visitor(running.baseUrl);
      const content = randomBytes(300_000);
      const { response, location } = await createUpload(visitor, 'draft', 'video.bin', content.byteLength);
      assert.equal(response.status, 201);
      assert.equal(response.headers.get('tus-resumable'), '1.0.0');
      assert.match(location, /^\/attachments\/draft\/tus\/[0-9a-f-]{36}$/);
      assert.ok(response.headers.get('upload-expires'));
      const first = await patchUpload(visitor, location, 0, content.subarray(0, 100_000));
      assert.equal(first.status, 204, await first.text());
      assert.equal(first.headers.get('upload-offset'), '100000');
      assert.deepEqual(await visitor.names('draft'), []);
      const head = await headUpload(visitor, location);
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('upload-offset'), '100000');
      assert.equal(head.headers.get('upload-length'), '300000');
      const last = await patchUpload(visitor, location, 100_000, content.subarray(100_000));
      assert.equal(last.status, 204, await last.text());
      assert.equal(last.headers.get('upload-offset'), '300000');
      const attachment = JSON.parse(last.headers.get('attachment') ?? 'null') as AttachmentBody;
      assert.equal(attachment.name, 'video.bin');
      assert.equal(attachment.sha256, sha256(content));
      const listed = await visitor.json<AttachmentBody[]>('/attachments/draft');
      assert.deepEqual(
        listed.map((item) => [item.name, item.size, item.sha256]),
        [['video.bin', 300_000, sha256(content)]],
      );
      const downloaded = Buffer.from(await (await visitor.get('/attachments/draft/video.bin')).arrayBuffer());
      assert.equal(sha256(downloaded), sha256(content));
      assert.deepEqual(logger.problems(), []);
    });
  });
}
