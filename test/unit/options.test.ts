import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { resolveOptions, resolvePath } from '../../src/attachments/attachments.options.js';
import { parseAge } from '../../src/attachments/expiry/age.js';
import { DiskStorage } from '../../src/attachments/index.js';

describe('module options', () => {
  test('defaults are merged once', () => {
    const options = resolveOptions();
    assert.equal(options.limits.fileSize, 50 * 1024 * 1024);
    assert.equal(options.limits.filesPerRequest, 20);
    assert.equal(options.expireAfter, 24 * 3600_000);
    assert.equal(options.sweepEvery, 15 * 60_000);
  });

  test('sizes and durations accept numbers and strings', () => {
    const options = resolveOptions({ limits: { fileSize: '2MB' }, expireAfter: '36h', sweepEvery: 5000 });
    assert.equal(options.limits.fileSize, 2 * 1024 * 1024);
    assert.equal(options.expireAfter, 36 * 3600_000);
    assert.equal(options.sweepEvery, 5000);
    assert.equal(resolveOptions({ sweepEvery: false }).sweepEvery, false);
  });

  test('a bad option fails with a message naming it', () => {
    assert.throws(() => resolveOptions({ limits: { fileSize: 'huge' } }), /option "limits\.fileSize" must be a size/);
    assert.throws(
      () => resolveOptions({ limits: { filesPerRequest: 0 } }),
      /option "limits\.filesPerRequest" must be a whole number >= 1; got 0/,
    );
    assert.throws(() => resolveOptions({ expireAfter: 'soon' }), /option "expireAfter" must be a duration/);
    assert.throws(() => resolveOptions({ storage: {} as DiskStorage }), /option "storage" must be an AttachmentStorage/);
    assert.throws(() => resolvePath('../x'), /option "path"/);
  });

  test('a custom storage is accepted and the path is trimmed', () => {
    const storage = new DiskStorage({ directory: 'var/x' });
    assert.equal(resolveOptions({ storage }).storage, storage);
    assert.equal(resolvePath('/api/uploads/'), 'api/uploads');
  });
});

describe('--older-than', () => {
  test('a plain number is days, as in the original', () => {
    assert.equal(parseAge('3'), 3 * 24 * 3600_000);
    assert.equal(parseAge('0.5'), 12 * 3600_000);
  });

  test('durations work too', () => {
    assert.equal(parseAge('36h'), 36 * 3600_000);
    assert.equal(parseAge('2s'), 2000);
  });

  test('anything else is refused with a clear message', () => {
    for (const value of ['abc', '-1', '-3d', '', 'h']) {
      assert.throws(() => parseAge(value), /--older-than must be a number of days/, value);
    }
  });
});
