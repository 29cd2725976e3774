// S3Storage refuses an option it does not know, as AttachmentsModule does: a misspelt
// `endpoint` or `partSize` would otherwise be ignored without a word, and the storage would
// talk to AWS instead of the S3-compatible server, or upload in parts of the default size.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { S3Storage, type S3StorageOptions } from '../../src/attachments/s3.js';

/** Options as a host reads them from its configuration: not checked by TypeScript's literal check. */
const fromConfiguration = (options: Record<string, unknown>) => options as unknown as S3StorageOptions;

describe('S3Storage options', () => {
  test('a misspelt option is refused, naming the option it was meant to be', () => {
    assert.throws(
      () => new S3Storage(fromConfiguration({ bucket: 'b', endpiont: 'http://127.0.0.1:9000', forcePathStyle: true })),
      { message: 'S3Storage: option `endpiont` is unknown: did you mean `endpoint`?' },
    );
    assert.throws(() => new S3Storage(fromConfiguration({ bucket: 'b', partsize: 16 * 1024 * 1024 })), {
      message: 'S3Storage: option `partsize` is unknown: did you mean `partSize`?',
    });
    assert.throws(() => new S3Storage(fromConfiguration({ bucket: 'b', forcePathStlye: true })), /did you mean `forcePathStyle`/);
  });

  test("the SDK's `Bucket` is named as a typo of `bucket`, not taken for a missing bucket", () => {
    assert.throws(() => new S3Storage(fromConfiguration({ Bucket: 'b' })), {
      message: 'S3Storage: option `Bucket` is unknown: did you mean `bucket`?',
    });
  });

  test('an option unlike any is refused, listing the options', () => {
    assert.throws(
      () => new S3Storage(fromConfiguration({ bucket: 'b', acl: 'private' })),
      /^Error: S3Storage: option `acl` is unknown; the options are bucket, prefix, client, region, endpoint, forcePathStyle, credentials, partSize, queueSize$/,
    );
  });

  test('a prefix that is not a string is refused with the prefix message', () => {
    assert.throws(() => new S3Storage(fromConfiguration({ bucket: 'b', prefix: 42 })), /`prefix` must be a relative key prefix/);
  });

  test('every known option, and options left undefined, are accepted', () => {
    const storage = new S3Storage({
      bucket: 'b',
      prefix: 'attachments',
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:9000',
      forcePathStyle: true,
      credentials: { accessKeyId: 'id', secretAccessKey: 'secret' },
      partSize: 5 * 1024 * 1024,
      queueSize: 2,
      client: undefined,
    });
    assert.equal(storage.bucket, 'b');
  });
});
