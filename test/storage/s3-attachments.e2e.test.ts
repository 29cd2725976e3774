// The demo app with its bytes in S3 (s3rver on loopback), on both databases: every route, the
// orphan sweep, and an upload cut off mid-multipart.
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { Logger } from '@nestjs/common';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { AttachmentsSweeper } from '../../src/attachments/index.js';
import { S3Storage } from '../../src/attachments/s3.js';
import { ageAttachments } from '../support/cli.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { startS3Server, type RunningS3Server } from '../support/s3-server.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { Visitor, type AttachmentBody } from '../support/visitor.js';
import { waitFor } from '../support/wait-for.js';

const MiB = 1024 * 1024;
const DAY = 24 * 3600_000;
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

let server: RunningS3Server;
before(async () => {
  server = await startS3Server();
});
after(() => server.stop());

async function bucketKeys(bucket: string): Promise<string[]> {
  const listed = await server.client.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (listed.Contents ?? []).map((object) => object.Key!).sort();
}

for (const kind of DATABASE_KINDS) {
  describe(`the demo on S3Storage, ${kind}`, () => {
    let running: RunningApp;
    let bucket: string;
    let storage: S3Storage;
    let commands: string[];
    before(async () => {
      bucket = await server.createBucket();
      const recording = server.recordingClient();
      commands = recording.commands;
      storage = new S3Storage({ bucket, prefix: 'demo', client: recording.client, partSize: 5 * MiB });
      // Every file to the bucket (none travels with its row): the storage is what is under test.
      running = await startApp(kind, { attachments: { storage, inlineMaxSize: 0 } });
    });
    after(() => running.close());

    test('upload, list, download whole and by range, replace, delete: the bytes live in the bucket', async () => {
      const visitor = new Visitor(running.baseUrl);
      const big = randomBytes(6 * MiB + 11);
      const upload = await visitor.upload('/attachments/s3', [
        ['f', 'big.bin', big],
        ['f', 'note.txt', 'first'],
      ]);
      assert.equal(upload.status, 201);
      const stored = (await upload.json()) as AttachmentBody[];
      assert.equal(stored.find((a) => a.name === 'big.bin')?.sha256, sha256(big));
      assert.deepEqual(await visitor.names('s3'), ['big.bin', 'note.txt']);
      assert.equal((await bucketKeys(bucket)).filter((key) => /^demo\/[0-9a-f]{32}$/.test(key)).length, 2);

      const whole = await visitor.get('/attachments/s3/big.bin');
      assert.equal(whole.status, 200);
      assert.equal(sha256(new Uint8Array(await whole.arrayBuffer())), sha256(big));
      // A suffix range, which the app must send to S3 as an absolute one.
      const tail = await visitor.get('/attachments/s3/big.bin', { range: 'bytes=-5' });
      assert.equal(tail.status, 206);
      assert.deepEqual(Buffer.from(await tail.arrayBuffer()), big.subarray(big.length - 5));
      const across = await visitor.get('/attachments/s3/big.bin', { range: `bytes=${5 * MiB - 2}-${5 * MiB + 2}` });
      assert.equal(across.status, 206);
      assert.deepEqual(Buffer.from(await across.arrayBuffer()), big.subarray(5 * MiB - 2, 5 * MiB + 3));

      assert.equal((await visitor.upload('/attachments/s3', [['f', 'note.txt', 'second']])).status, 201);
      assert.equal(await visitor.text('/attachments/s3/note.txt'), 'second');
      await running.replacedDeleted();
      assert.equal((await bucketKeys(bucket)).length, 2, 'the replaced object is deleted');

      assert.equal((await visitor.delete('/attachments/s3/big.bin')).status, 204);
      assert.equal((await visitor.get('/attachments/s3/big.bin')).status, 404);
      assert.equal((await bucketKeys(bucket)).length, 1);
      assert.equal((await visitor.delete('/attachments/s3')).status, 204);
      assert.deepEqual(await bucketKeys(bucket), []);
    });

    test('an object gone from the bucket behind the app is a 404, not a 500', async () => {
      const visitor = new Visitor(running.baseUrl);
      assert.equal((await visitor.upload('/attachments/gone', [['f', 'gone.txt', 'bytes']])).status, 201);
      const keys = await bucketKeys(bucket);
      await storage.deleteMany(keys.map((key) => key.slice('demo/'.length)));
      const response = await visitor.get('/attachments/gone/gone.txt');
      assert.equal(response.status, 404);
      assert.equal(((await response.json()) as { code: string }).code, 'not_found');
      await visitor.delete('/attachments/gone');
    });

    test('the orphan sweep deletes unreferenced objects from the bucket and keeps referenced ones', async () => {
      const visitor = new Visitor(running.baseUrl);
      assert.equal((await visitor.upload('/attachments/kept', [['f', 'kept.txt', 'kept']])).status, 201);
      const [referenced] = await bucketKeys(bucket);
      const orphan = await storage.write(Readable.from([Buffer.from('nobody points here')]));
      assert.equal((await bucketKeys(bucket)).length, 2);
      assert.equal(await running.app.get(AttachmentsSweeper).removeOrphans(0), 1);
      assert.deepEqual(await bucketKeys(bucket), [referenced]);
      assert.notEqual(referenced, `demo/${orphan.key}`);
      assert.equal(await visitor.text('/attachments/kept/kept.txt'), 'kept');
      await visitor.delete('/attachments/kept');
    });

    test('the expiry sweep deletes a batch of objects with one DeleteObjects request, not one request each', async () => {
      const visitor = new Visitor(running.baseUrl);
      const names = ['a.txt', 'b.txt', 'c.txt'];
      const upload = await visitor.upload(
        '/attachments/stale',
        names.map((name): [string, string, string] => ['f', name, name]),
      );
      assert.equal(upload.status, 201);
      await ageAttachments(running, 2 * DAY, names);
      const sentBefore = commands.length;
      const report = await running.app.get(AttachmentsSweeper).removeOutdated({ olderThan: DAY });
      assert.equal(report.count, 3);
      const sent = commands.slice(sentBefore);
      assert.deepEqual(
        sent.filter((command) => command.startsWith('Delete')),
        ['DeleteObjectsCommand'],
      );
      assert.deepEqual(await bucketKeys(bucket), []);
    });

    test('an upload cut off mid-multipart leaves no object and no row', async (t) => {
      const warnings: string[] = [];
      t.mock.method(Logger.prototype, 'warn', (message: unknown) => void warnings.push(String(message)));
      const rowsBefore = await running.rowCount();
      const sentBefore = commands.length;
      const upload = httpRequest(`${running.baseUrl}/attachments/cut`, {
        method: 'POST',
        headers: { 'content-type': 'multipart/form-data; boundary=cut', 'content-length': String(20 * MiB) },
      });
      upload.on('error', () => undefined);
      upload.write('--cut\r\nContent-Disposition: form-data; name="f"; filename="cut.bin"\r\n\r\n');
      upload.write(randomBytes(11 * MiB));
      // The client goes away once the first part is on its way to S3.
      assert.ok(await waitFor(() => commands.slice(sentBefore).includes('UploadPartCommand')));
      upload.destroy();
      assert.ok(await waitFor(() => warnings.some((warning) => /could not abort the incomplete multipart upload/.test(warning))));
      assert.deepEqual(await bucketKeys(bucket), []);
      assert.equal(await running.rowCount(), rowsBefore);
    });
  });
}
