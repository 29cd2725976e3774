// The inspect hook sees a resumable upload once its last byte is stored, before it becomes an
// attachment: a refusal removes the upload, a hook that cannot decide keeps it resumable.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { AttachmentRejected, type InspectedFile } from '../../src/attachments/index.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { createUpload, headUpload, patchUpload } from '../support/tus.js';
import { Visitor } from '../support/visitor.js';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const code = async (response: Response) => ((await response.json()) as { code: string }).code;

for (const kind of DATABASE_KINDS) {
  describe(`the inspect hook and resumable uploads on ${kind}`, () => {
    let running: RunningApp;
    const seen: Array<Omit<InspectedFile, 'stream'> & { bytes: string }> = [];
    let unavailable = true;
    before(async () => {
      running = await startApp(kind, {
        attachments: {
          inlineMaxSize: 0,
          inspect: async ({ stream, ...file }) => {
            const chunks: Buffer[] = [];
            for await (const chunk of stream) chunks.push(chunk as Buffer);
            seen.push({ ...file, bytes: sha256(Buffer.concat(chunks)) });
            if (file.name === 'flaky.bin' && unavailable) throw new Error('the scanner is restarting');
            if (file.name === 'virus.bin') throw new AttachmentRejected('infected');
          },
        },
      });
    });
    after(() => running.close());

    test('sees the whole file; a refusal is 422 and removes the upload', async () => {
      const visitor = new Visitor(running.baseUrl);
      const content = randomBytes(50_000);
      const { location } = await createUpload(visitor, 'scan', 'virus.bin', content.byteLength);
      assert.equal((await patchUpload(visitor, location, 0, content.subarray(0, 20_000))).status, 204);
      const refused = await patchUpload(visitor, location, 20_000, content.subarray(20_000));
      assert.equal(refused.status, 422);
      assert.equal(await code(refused), 'file_rejected');
      const file = seen.find((entry) => entry.name === 'virus.bin');
      assert.deepEqual(
        { size: file?.size, sha256: file?.sha256, bytes: file?.bytes },
        { size: 50_000, sha256: sha256(content), bytes: sha256(content) },
      );
      assert.equal((await headUpload(visitor, location)).status, 404);
      assert.deepEqual(await visitor.names('scan'), []);
      assert.equal(await running.blobCount(), 0);
    });

    test('a hook that cannot decide is 503, and the last PATCH may be sent again', async () => {
      const visitor = new Visitor(running.baseUrl);
      const content = randomBytes(30_000);
      const { location } = await createUpload(visitor, 'scan', 'flaky.bin', content.byteLength);
      assert.equal((await patchUpload(visitor, location, 0, content.subarray(0, 10_000))).status, 204);
      const failed = await patchUpload(visitor, location, 10_000, content.subarray(10_000));
      assert.equal(failed.status, 503);
      assert.equal(await code(failed), 'inspection_unavailable');
      assert.equal((await headUpload(visitor, location)).headers.get('upload-offset'), '10000');
      unavailable = false;
      const retried = await patchUpload(visitor, location, 10_000, content.subarray(10_000));
      assert.equal(retried.status, 204);
      assert.deepEqual(await visitor.names('scan'), ['flaky.bin']);
      assert.equal(await running.blobCount(), 1, 'no part of the failed try is left');
    });
  });
}
