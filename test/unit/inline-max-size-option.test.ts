import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { resolveOptions } from '../../src/attachments/attachments.options.js';
import { InvalidAttachmentsOptionError } from '../../src/attachments/index.js';

describe('option inlineMaxSize', () => {
  test('defaults to 64kb, takes the size grammar, and 0 keeps every file in the storage', () => {
    assert.equal(resolveOptions().inlineMaxSize, 64 * 1024);
    assert.equal(resolveOptions({ inlineMaxSize: undefined }).inlineMaxSize, 64 * 1024);
    assert.equal(resolveOptions({ inlineMaxSize: '16kb' }).inlineMaxSize, 16 * 1024);
    assert.equal(resolveOptions({ inlineMaxSize: '1 MiB' }).inlineMaxSize, 1024 * 1024);
    assert.equal(resolveOptions({ inlineMaxSize: 0 }).inlineMaxSize, 0);
  });

  test('refuses sizes above 1mb and anything outside the grammar, naming the option', () => {
    for (const value of ['1.5mb', 1024 * 1024 + 1, '64k', '-1kb', -1, 1.5, '1e3', 'small']) {
      assert.throws(
        () => resolveOptions({ inlineMaxSize: value as string }),
        (error: unknown) =>
          error instanceof InvalidAttachmentsOptionError &&
          error.message.includes('option "inlineMaxSize" must be a size from 0'),
        `${JSON.stringify(value)} is refused`,
      );
    }
  });
});
