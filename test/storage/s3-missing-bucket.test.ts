// A bucket that is not there is the storage failing, not a file gone: S3 answers 404 to both,
// and a read that took NoSuchBucket for a missing object answered `not_found` to a download and
// made the previews forget rows whose bytes may well still exist once the bucket is back.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { StorageUnavailableError } from '../../src/attachments/index.js';
import { S3Storage } from '../../src/attachments/s3.js';
import { S3RVER_CREDENTIALS, startS3Server, type RunningS3Server } from '../support/s3-server.js';

let server: RunningS3Server;
before(async () => {
  server = await startS3Server();
});
after(() => server.stop());

const KEY = 'a'.repeat(32);

function storageOn(bucket: string): S3Storage {
  return new S3Storage({
    bucket,
    endpoint: server.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: S3RVER_CREDENTIALS,
  });
}

describe('S3Storage reads when the object or the bucket is missing', () => {
  test('a missing object is ENOENT (the module answers not_found)', async () => {
    const storage = storageOn(await server.createBucket());
    await assert.rejects(storage.read(KEY), { code: 'ENOENT' });
  });

  test('a missing bucket is the storage unavailable (503), never ENOENT', async () => {
    const storage = storageOn(`gone-${Date.now()}`);
    const failure = await storage.read(KEY).then(
      () => assert.fail('a read from a bucket that does not exist resolved'),
      (error: unknown) => error as { code?: string; cause?: { name?: string } },
    );
    assert.ok(failure instanceof StorageUnavailableError);
    assert.notEqual(failure.code, 'ENOENT');
    assert.equal(failure.cause?.name, 'NoSuchBucket');
  });
});
