// S3Storage against a real S3-protocol server (s3rver on loopback, started here).
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { Logger } from '@nestjs/common';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { S3Storage } from '../../src/attachments/s3.js';
import { S3RVER_CREDENTIALS, startS3Server, type RunningS3Server } from '../support/s3-server.js';
import { storageContract } from './contract.js';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const MiB = 1024 * 1024;

let server: RunningS3Server;
before(async () => {
  server = await startS3Server();
});
after(() => server.stop());

async function objectKeys(bucket: string): Promise<string[]> {
  const listed = await server.client.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (listed.Contents ?? []).map((object) => object.Key!).sort();
}

async function* pieces(bytes: Buffer, size = 64 * 1024) {
  for (let start = 0; start < bytes.length; start += size) yield bytes.subarray(start, start + size);
}

describe('S3Storage (built from bucket, endpoint, region, path style, credentials)', () => {
  storageContract(
    async () =>
      new S3Storage({
        bucket: await server.createBucket(),
        endpoint: server.endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: S3RVER_CREDENTIALS,
        partSize: 5 * MiB,
      }),
  );
});

describe('S3Storage (a caller-supplied client, keys under a prefix)', () => {
  storageContract(
    async () => new S3Storage({ bucket: await server.createBucket(), client: server.client, prefix: 'attachments' }),
  );
});

describe('S3Storage on a real S3 server', () => {
  test('a 12 MiB file goes up as a multipart upload in 5 MiB parts and the bucket holds exactly its bytes', async () => {
    const bucket = await server.createBucket();
    const { client, commands } = server.recordingClient();
    const storage = new S3Storage({ bucket, client, prefix: 'drafts/', partSize: 5 * MiB });
    const bytes = randomBytes(12 * MiB);
    const { key } = await storage.write(pieces(bytes));
    assert.deepEqual(
      commands.filter((name) => name !== 'UploadPartCommand'),
      ['CreateMultipartUploadCommand', 'CompleteMultipartUploadCommand'],
    );
    assert.equal(commands.filter((name) => name === 'UploadPartCommand').length, 3);
    assert.deepEqual(await objectKeys(bucket), [`drafts/${key}`]);
    const stored = await server.client.send(new GetObjectCommand({ Bucket: bucket, Key: `drafts/${key}` }));
    const body = Buffer.from(await stored.Body!.transformToByteArray());
    assert.equal(body.length, bytes.length);
    assert.equal(sha256(body), sha256(bytes));
  });

  test('a big upload pulls the source only a few parts ahead of what S3 has acknowledged (memory bounded by part size)', async () => {
    const bucket = await server.createBucket();
    const { client, answered } = server.recordingClient();
    const partSize = 5 * MiB;
    const queueSize = 2;
    const storage = new S3Storage({ bucket, client, partSize, queueSize });
    const chunk = randomBytes(64 * 1024);
    let pulled = 0;
    let furthestAhead = 0;
    async function* fortyMiB() {
      for (let sent = 0; sent < 40 * MiB; sent += chunk.length) {
        const acknowledged = answered.filter((name) => name === 'UploadPartCommand').length * partSize;
        furthestAhead = Math.max(furthestAhead, pulled - acknowledged);
        pulled += chunk.length;
        yield chunk;
      }
    }
    await storage.write(fortyMiB());
    assert.equal(answered.filter((name) => name === 'UploadPartCommand').length, 8);
    // In flight: `queueSize` parts, plus the one being gathered.
    assert.ok(furthestAhead <= (queueSize + 1) * partSize, `${furthestAhead} bytes ahead`);
  });

  test('a file smaller than one part is a single PutObject holding exactly its bytes', async () => {
    const bucket = await server.createBucket();
    const { client, commands } = server.recordingClient();
    const storage = new S3Storage({ bucket, client });
    const bytes = randomBytes(70 * 1024);
    const { key } = await storage.write(pieces(bytes));
    assert.deepEqual(commands, ['PutObjectCommand']);
    const stored = await server.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    assert.equal(sha256(await stored.Body!.transformToByteArray()), sha256(bytes));
  });

  test('a source that fails mid-multipart leaves no object, and the refused abort is logged with the lifecycle rule', async (t) => {
    const bucket = await server.createBucket();
    const { client, commands } = server.recordingClient();
    const storage = new S3Storage({ bucket, client, partSize: 5 * MiB, queueSize: 1 });
    const warnings: string[] = [];
    t.mock.method(Logger.prototype, 'warn', (message: unknown) => void warnings.push(String(message)));
    const cut = new Error('client went away');
    async function* cutOff() {
      yield* pieces(randomBytes(11 * MiB));
      throw cut;
    }
    await assert.rejects(storage.write(cutOff()), (error) => error === cut);
    assert.ok(commands.includes('UploadPartCommand'), 'parts had been uploaded');
    assert.equal(commands.at(-1), 'AbortMultipartUploadCommand');
    assert.deepEqual(await objectKeys(bucket), []);
    assert.deepEqual([...(await collect(storage.list()))], []);
    // s3rver answers 405 to AbortMultipartUpload; a server that accepts it logs nothing.
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /could not abort the incomplete multipart upload .*405/);
    assert.match(warnings[0]!, /AbortIncompleteMultipartUpload/);
  });

  test('list pages past 1000 objects, skips keys that are not ours, and deleteMany removes them in batches', async () => {
    const bucket = await server.createBucket();
    const storage = new S3Storage({ bucket, client: server.client, prefix: 'mine' });
    const ours = Array.from({ length: 1001 }, () => randomBytes(16).toString('hex'));
    const foreign = ['mine/readme.txt', `mine/deeper/${ours[0]}`, `elsewhere/${ours[1]}`, ours[2]!];
    await putAll(bucket, [...ours.map((key) => `mine/${key}`), ...foreign]);
    const listed = await collect(storage.list());
    assert.equal(listed.length, 1001);
    assert.deepEqual(listed.map((object) => object.key).sort(), [...ours].sort());
    assert.ok(listed.every((object) => object.modifiedAt instanceof Date && !Number.isNaN(object.modifiedAt.getTime())));
    assert.deepEqual(await storage.deleteMany([...ours, randomBytes(16).toString('hex')]), []);
    assert.deepEqual(await collect(storage.list()), []);
    assert.deepEqual(await objectKeys(bucket), [...foreign].sort());
  });

  test('deleteMany answers a key that is not ours as not deleted, never sends it, and deletes the rest', async () => {
    const bucket = await server.createBucket();
    const storage = new S3Storage({ bucket, client: server.client });
    const { key } = await storage.write(Readable.from([Buffer.from('gone')]));
    await putAll(bucket, ['readme.txt']);
    assert.deepEqual(await storage.deleteMany([key, 'readme.txt', '../other']), ['readme.txt', '../other']);
    assert.deepEqual(await objectKeys(bucket), ['readme.txt']);
  });

  test('assertBucketExists passes for an existing bucket and names a missing one', async () => {
    const bucket = await server.createBucket();
    await new S3Storage({ bucket, client: server.client }).assertBucketExists();
    await assert.rejects(new S3Storage({ bucket: 'no-such-bucket', client: server.client }).assertBucketExists(), {
      message: 'S3Storage: bucket "no-such-bucket" does not exist: create it first',
    });
  });

  test('options are checked when the storage is made, with messages naming the option', () => {
    assert.throws(() => new S3Storage({ bucket: '' }), /`bucket`/);
    assert.throws(
      () => new S3Storage({ bucket: 'b', client: server.client, endpoint: 'http://x' }),
      /with `client`, set endpoint on that client/,
    );
    assert.throws(() => new S3Storage({ bucket: 'b', partSize: 1024 }), /`partSize`.*5 MiB/);
    assert.throws(() => new S3Storage({ bucket: 'b', queueSize: 0 }), /`queueSize`/);
    assert.throws(() => new S3Storage({ bucket: 'b', prefix: '/abs' }), /`prefix`/);
  });
});

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

/** Puts a tiny object under each key, a few at a time. */
async function putAll(bucket: string, keys: string[]): Promise<void> {
  const queue = [...keys];
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let key = queue.pop(); key !== undefined; key = queue.pop()) {
        await server.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'x' }));
      }
    }),
  );
}
