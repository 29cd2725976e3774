// The options of resumable uploads: strict, like the others, and named in every refusal.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { resolveOptions, resolveResumable } from '../../src/attachments/attachments.options.js';
import { InvalidAttachmentsOptionError } from '../../src/attachments/index.js';

const HOUR = 3600_000;

const namesOption = (option: string) => (error: unknown) =>
  error instanceof InvalidAttachmentsOptionError && error.message.includes(`option "${option}" must be`);

describe('resumable upload options', () => {
  test('resumableExpireAfter defaults to 24h and reads the duration grammar', () => {
    assert.equal(resolveOptions().resumableExpireAfter, 24 * HOUR);
    assert.equal(resolveOptions({ resumableExpireAfter: '36h' }).resumableExpireAfter, 36 * HOUR);
    assert.equal(resolveOptions({ resumableExpireAfter: 5000 }).resumableExpireAfter, 5000);
    assert.equal(resolveOptions({ resumableExpireAfter: undefined }).resumableExpireAfter, 24 * HOUR);
  });

  test('a bad resumableExpireAfter stops the app, naming it', () => {
    for (const value of ['3', 'soon', -1, 0, Number.NaN, '1e3h', true]) {
      assert.throws(
        () => resolveOptions({ resumableExpireAfter: value as never }),
        namesOption('resumableExpireAfter'),
        String(value),
      );
    }
  });

  test('resumable is on unless false, and anything but a boolean is refused', () => {
    assert.equal(resolveResumable(undefined), true);
    assert.equal(resolveResumable(true), true);
    assert.equal(resolveResumable(false), false);
    for (const value of ['false', 0, null, {}]) {
      assert.throws(() => resolveResumable(value), namesOption('resumable'), JSON.stringify(value));
    }
  });
});
