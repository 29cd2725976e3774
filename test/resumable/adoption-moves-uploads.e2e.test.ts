// An upload started anonymously survives the visitor's login: the demo's login adopts the
// session's attachments and its unfinished uploads, so the signed-in visitor resumes it.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { DATABASE_KINDS } from '../support/databases.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { createUpload, headUpload, patchUpload } from '../support/tus.js';
import { Visitor, type AttachmentBody } from '../support/visitor.js';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

for (const kind of DATABASE_KINDS) {
  describe(`resumable uploads across login on ${kind}`, () => {
    let running: RunningApp;
    before(async () => {
      running = await startApp(kind);
    });
    after(() => running.close());

    test("an unfinished upload moves to the user at login and finishes in the user's bundle", async () => {
      const visitor = new Visitor(running.baseUrl);
      const content = randomBytes(100_000);
      const { location } = await createUpload(visitor, 'cv', 'cv.pdf', content.byteLength);
      assert.equal((await patchUpload(visitor, location, 0, content.subarray(0, 30_000))).status, 204);
      assert.equal((await visitor.post('/demo/login')).status, 200);
      assert.equal((await headUpload(visitor, location)).headers.get('upload-offset'), '30000', 'the user sees it');
      const done = await patchUpload(visitor, location, 30_000, content.subarray(30_000));
      assert.equal((JSON.parse(done.headers.get('attachment')!) as AttachmentBody).sha256, sha256(content));
      const device = new Visitor(running.baseUrl);
      assert.equal((await device.post('/demo/login')).status, 200);
      assert.deepEqual(await device.names('cv'), ['cv.pdf'], "the user's, on another device too");
    });
  });
}
