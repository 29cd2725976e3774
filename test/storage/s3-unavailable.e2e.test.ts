// S3 out of reach is `503 storage_unavailable` (retry), not a bare 500: the demo app on
// S3Storage, then its S3 server stopped. And a failing upload stream stays the stream's own
// error, never taken for S3's.
import { S3Client } from '@aws-sdk/client-s3';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { StorageUnavailableError } from '../../src/attachments/index.js';
import { S3Storage } from '../../src/attachments/s3.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { S3RVER_CREDENTIALS, startS3Server, type RunningS3Server } from '../support/s3-server.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { Visitor } from '../support/visitor.js';

/** A client that tries once: the SDK's retries (with back-off) would only make the test slower. */
function clientOf(server: RunningS3Server): S3Client {
  return new S3Client({
    endpoint: server.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: S3RVER_CREDENTIALS,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 1,
  });
}

describe('S3Storage: a failing source is its own error', () => {
  let server: RunningS3Server;
  before(async () => {
    server = await startS3Server();
  });
  after(() => server.stop());

  test('the source error comes back as it is, not as StorageUnavailableError', async () => {
    const storage = new S3Storage({ bucket: await server.createBucket(), client: clientOf(server) });
    const refused = Object.assign(new Error('limit reached'), { code: 'ECONNRESET' });
    const source = new Readable({
      read() {
        this.destroy(refused);
      },
    });
    await assert.rejects(storage.write(source), (error) => error === refused);
  });
});

for (const kind of DATABASE_KINDS) {
  describe(`the demo on S3Storage when S3 goes away, ${kind}`, () => {
    let server: RunningS3Server;
    let running: RunningApp;
    let stopped = false;
    before(async () => {
      server = await startS3Server();
      const storage = new S3Storage({ bucket: await server.createBucket(), client: clientOf(server) });
      running = await startApp(kind, { attachments: { storage, inlineMaxSize: 0 } });
    });
    after(async () => {
      await running.close();
      if (!stopped) await server.stop();
    });

    test('downloads and uploads answer 503 storage_unavailable; nothing is stored', async () => {
      const visitor = new Visitor(running.baseUrl);
      assert.equal((await visitor.upload('/attachments/s3', [['f', 'kept.txt', 'kept']])).status, 201);
      await server.stop();
      stopped = true;

      const download = await visitor.get('/attachments/s3/kept.txt');
      assert.equal(download.status, 503);
      assert.equal(((await download.json()) as { code: string }).code, 'storage_unavailable');

      const upload = await visitor.upload('/attachments/s3', [['f', 'new.txt', 'new']]);
      assert.equal(upload.status, 503);
      assert.equal(((await upload.json()) as { code: string }).code, 'storage_unavailable');
      assert.deepEqual(await visitor.names('s3'), ['kept.txt']);
    });
  });
}

test('StorageUnavailableError is an Error with its own name, for host storages to throw', () => {
  const error = new StorageUnavailableError('down', { cause: new Error('ECONNREFUSED') });
  assert.ok(error instanceof Error);
  assert.equal(error.name, 'StorageUnavailableError');
});
