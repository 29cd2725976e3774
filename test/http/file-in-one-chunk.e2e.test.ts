// A file whose bytes arrive in one chunk past the sniffed prefix: its stream has ended by the
// time the type is decided, and the prefix cannot be given back to it. It is stored whole.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { DATABASE_KINDS } from '../support/databases.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { Visitor, type AttachmentBody } from '../support/visitor.js';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

for (const kind of DATABASE_KINDS) {
  describe(`a file in one chunk on ${kind}`, () => {
    let running: RunningApp;
    before(async () => {
      running = await startApp(kind, { attachments: { inlineMaxSize: 0 } });
    });
    after(() => running.close());

    test('is stored whole, not empty', async () => {
      const visitor = new Visitor(running.baseUrl);
      const content = randomBytes(50_000);
      const response = await visitor.upload('/attachments/chunk', [['f', 'one.bin', content]]);
      assert.equal(response.status, 201);
      const [stored] = (await response.json()) as AttachmentBody[];
      assert.equal(stored?.size, content.byteLength);
      assert.equal(stored?.sha256, sha256(content));
      const downloaded = Buffer.from(await (await visitor.get('/attachments/chunk/one.bin')).arrayBuffer());
      assert.equal(sha256(downloaded), sha256(content));
    });
  });
}
