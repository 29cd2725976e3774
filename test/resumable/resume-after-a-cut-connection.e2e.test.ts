// A tus upload whose PATCH loses its connection half-way resumes from what the server stored,
// on disk (bytes written in place into one blob) and on S3 (parts strategy), on both
// databases: the visitor sends only the rest, and the attachment's bytes are the file's, by
// sha256.
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { S3Storage } from '../../src/attachments/s3.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { startS3Server, type RunningS3Server } from '../support/s3-server.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { createTusUpload, streamingPatch, tusOffset, tusPatch } from '../support/tus-requests.js';
import { Visitor } from '../support/visitor.js';
import { waitFor } from '../support/wait-for.js';

const MiB = 1024 * 1024;
const PART_SIZE = 5 * MiB;
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

let s3: RunningS3Server;
before(async () => {
  s3 = await startS3Server();
});
after(() => s3.stop());

/** Bytes in the disk storage's blobs: the in-place object grows there as a PATCH arrives. */
async function blobBytes(directory: string): Promise<number> {
  const folder = join(directory, 'blobs');
  const entries = await readdir(folder, { recursive: true, withFileTypes: true }).catch(() => []);
  let total = 0;
  for (const entry of entries) if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  return total;
}

async function bucketKeys(bucket: string): Promise<string[]> {
  const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (listed.Contents ?? []).map((object) => object.Key!);
}

for (const kind of DATABASE_KINDS) {
  for (const storage of ['disk', 's3'] as const) {
    describe(`resume after a cut connection, ${storage}, ${kind}`, () => {
      let running: RunningApp;
      let bucket: string;
      before(async () => {
        bucket = await s3.createBucket();
        running = await startApp(kind, {
          attachments:
            storage === 's3'
              ? { storage: new S3Storage({ bucket, client: s3.client, partSize: PART_SIZE }), inlineMaxSize: 0 }
              : { inlineMaxSize: 0 },
        });
      });
      after(() => running.close());

      test('a PATCH cut off mid-body keeps what arrived; the next HEAD says so, and the rest completes the file, checked by sha256', async () => {
        const visitor = new Visitor(running.baseUrl);
        const file = randomBytes(24 * MiB + 17);
        const path = await createTusUpload(visitor, 'train', 'video.mp4', file.length);
        const url = running.baseUrl + path;

        const cut = streamingPatch(url, visitor.cookie, 0, file.length);
        const sent = 16 * MiB;
        for (let offset = 0; offset < sent; offset += MiB) await cut.write(file.subarray(offset, offset + MiB));
        // What the server has stored, not only received: on disk the object has grown; on S3 a
        // part of the PATCH's object is on the server (so a part's worth has been read).
        const stored = storage === 'disk' ? 2 * MiB : PART_SIZE;
        const storing =
          storage === 'disk'
            ? () => blobBytes(running.attachmentsDirectory).then((bytes) => bytes >= stored)
            : () => s3.incompleteUploads(bucket).then((uploads) => uploads.some((upload) => upload.parts > 0));
        assert.ok(await waitFor(storing), 'the server is storing the PATCH');
        cut.destroy();
        assert.ok((await cut.answer) instanceof Error, 'the cut PATCH got no answer');

        // The server commits what arrived once it notices the client gone.
        let offset: number | undefined;
        assert.ok(
          await waitFor(async () => {
            offset = (await tusOffset(visitor, path)).offset;
            return offset !== undefined && offset >= stored;
          }),
          `HEAD reports at least the ${stored} bytes stored (last: ${offset})`,
        );
        assert.ok(offset! <= sent, `no more than was sent (${offset})`);
        assert.deepEqual(await visitor.names('train'), [], 'not an attachment before its last byte');

        const rest = file.subarray(offset);
        assert.ok(rest.length < file.length, 'the second time sends fewer bytes');
        const done = await tusPatch(url, visitor.cookie, offset!, rest);
        assert.equal(done.status, 204, done.body);
        assert.equal(done.offset, file.length);
        assert.equal(done.attachment?.name, 'video.mp4');
        assert.equal(done.attachment?.size, file.length);
        assert.equal(done.attachment?.sha256, sha256(file));
        const download = await visitor.get('/attachments/train/video.mp4');
        assert.equal(download.status, 200);
        assert.equal(sha256(new Uint8Array(await download.arrayBuffer())), sha256(file));

        // Nothing but the attachment's blob is left: on disk the object it was written into,
        // on S3 one object (the parts are gone).
        if (storage === 'disk') {
          assert.equal(await running.blobCount(), 1);
          assert.equal(await blobBytes(running.attachmentsDirectory), file.length);
        } else {
          assert.ok(await waitFor(async () => (await bucketKeys(bucket)).length === 1), (await bucketKeys(bucket)).join());
        }
      });
    });
  }
}
