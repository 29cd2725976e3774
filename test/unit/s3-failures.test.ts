// Which S3 failures are "the storage is unavailable" (503 storage_unavailable, retry) and which
// stay errors (a logged 500): S3 out of reach or refusing, against a request of ours that S3
// found wrong. Errors shaped as the AWS SDK v3 throws them: `name` the service's code,
// `$metadata.httpStatusCode` its status, `$fault` client or server.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isMissingObject, isS3Unavailable } from '../../src/attachments/storage/s3-errors.js';

const answer = (name: string, status: number, fault: 'client' | 'server' = status >= 500 ? 'server' : 'client') =>
  Object.assign(new Error(name), { name, $fault: fault, $metadata: { httpStatusCode: status } });

describe('S3 failures', () => {
  test('out of reach or refusing: the network, 5xx, throttling, a bucket gone, credentials or permissions', () => {
    for (const error of [
      answer('InternalError', 500),
      answer('ServiceUnavailable', 503),
      answer('SlowDown', 503),
      answer('TooManyRequests', 429),
      answer('NoSuchBucket', 404),
      answer('AccessDenied', 403),
      answer('InvalidAccessKeyId', 403),
      answer('SignatureDoesNotMatch', 403),
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9000'), { code: 'ECONNREFUSED' }),
      Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
      Object.assign(new Error('timed out'), { name: 'TimeoutError' }),
    ]) {
      assert.equal(isS3Unavailable(error), true, error.message);
    }
  });

  test('a request S3 found wrong, a missing object and errors of our own are not', () => {
    for (const error of [
      answer('InvalidRange', 416),
      answer('MalformedXML', 400),
      answer('EntityTooSmall', 400),
      answer('InvalidArgument', 400),
      answer('NoSuchKey', 404),
      new Error('limit reached'),
      Object.assign(new Error('the file is larger than allowed'), { status: 413 }),
    ]) {
      assert.equal(isS3Unavailable(error), false, error.message);
    }
    assert.equal(isS3Unavailable(undefined), false);
  });

  test('a missing bucket is not a missing object; a missing key is', () => {
    assert.equal(isMissingObject(answer('NoSuchBucket', 404)), false);
    assert.equal(isMissingObject(answer('NoSuchKey', 404)), true);
  });
});
