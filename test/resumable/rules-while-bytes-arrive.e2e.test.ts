// The session's quota and the bundle's room are checked again as bytes arrive and at the
// finish: plain uploads may take what a resumable one was counting on meanwhile.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { DATABASE_KINDS } from '../support/databases.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { createUpload, headUpload, patchUpload } from '../support/tus.js';
import { Visitor, type AttachmentBody } from '../support/visitor.js';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const code = async (response: Response) => ((await response.json()) as { code: string }).code;

for (const kind of DATABASE_KINDS) {
  describe(`rules while a resumable upload's bytes arrive on ${kind}`, () => {
    let running: RunningApp;
    before(async () => {
      running = await startApp(kind, {
        attachments: { inlineMaxSize: 0, limits: { bytesPerSession: 100_000, filesPerBundle: 2 } },
      });
    });
    after(() => running.close());

    test("a PATCH never stores more than the session's quota leaves; the upload resumes once there is room", async () => {
      const visitor = new Visitor(running.baseUrl);
      const content = randomBytes(60_000);
      const { location } = await createUpload(visitor, 'quota', 'big.bin', content.byteLength);
      assert.equal((await visitor.upload('/attachments/other', [['f', 'plain.bin', randomBytes(50_000)]])).status, 201);
      const over = await patchUpload(visitor, location, 0, content);
      assert.equal(over.status, 413);
      assert.equal(await code(over), 'session_quota_exceeded');
      assert.equal((await headUpload(visitor, location)).headers.get('upload-offset'), '0', 'nothing of it was stored');
      assert.equal((await patchUpload(visitor, location, 0, content.subarray(0, 30_000))).status, 204);
      assert.equal((await visitor.delete('/attachments/other/plain.bin')).status, 204);
      const done = await patchUpload(visitor, location, 30_000, content.subarray(30_000));
      assert.equal((JSON.parse(done.headers.get('attachment')!) as AttachmentBody).sha256, sha256(content));
    });

    test('a bundle filled by plain uploads meanwhile refuses the finish with their error, and the upload goes', async () => {
      const visitor = new Visitor(running.baseUrl);
      const blobs = await running.blobCount();
      const { location } = await createUpload(visitor, 'full', 'late.txt', 20_000);
      assert.equal((await patchUpload(visitor, location, 0, randomBytes(10_000))).status, 204);
      const plain = await visitor.upload('/attachments/full', [
        ['f', 'a.txt', 'a'],
        ['f', 'b.txt', 'b'],
      ]);
      assert.equal(plain.status, 201);
      const refused = await patchUpload(visitor, location, 10_000, randomBytes(10_000));
      assert.equal(refused.status, 400);
      assert.equal(await code(refused), 'bundle_full');
      assert.equal((await headUpload(visitor, location)).status, 404, 'the upload is removed');
      assert.deepEqual(await visitor.names('full'), ['a.txt', 'b.txt']);
      assert.equal(await running.blobCount(), blobs + 2, "only the plain files' bytes are left");
    });
  });

  describe(`a small resumable upload on ${kind}`, () => {
    let running: RunningApp;
    before(async () => {
      running = await startApp(kind);
    });
    after(() => running.close());

    test('finishes into its row, like a small plain upload, and its parts go', async () => {
      const visitor = new Visitor(running.baseUrl);
      const content = randomBytes(10_000);
      const { location } = await createUpload(visitor, 'small', 'note.bin', content.byteLength);
      assert.equal((await patchUpload(visitor, location, 0, content.subarray(0, 4000))).status, 204);
      assert.equal(await running.blobCount(), 1, 'a part while it arrives');
      const done = await patchUpload(visitor, location, 4000, content.subarray(4000));
      assert.equal((JSON.parse(done.headers.get('attachment')!) as AttachmentBody).sha256, sha256(content));
      assert.equal(await running.blobCount(), 0, 'no blob: the bytes are in the row');
      assert.equal(await running.heldFileCount(), 1);
      const downloaded = Buffer.from(await (await visitor.get('/attachments/small/note.bin')).arrayBuffer());
      assert.equal(sha256(downloaded), sha256(content));
    });
  });
}
