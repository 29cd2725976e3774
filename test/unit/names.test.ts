import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assertBundleId, fileNameFromUrl, normalizeFileName } from '../../src/attachments/names.js';
import { AttachmentsException } from '../../src/attachments/attachments.errors.js';

const code = (work: () => unknown) => {
  try {
    work();
  } catch (error) {
    return error instanceof AttachmentsException ? error.code : 'other';
  }
  return 'accepted';
};

describe('file names', () => {
  test('keep only the last path segment, for / and \\', () => {
    assert.equal(normalizeFileName('../../etc/passwd'), 'passwd');
    assert.equal(normalizeFileName('C:\\Users\\me\\cv.pdf'), 'cv.pdf');
    assert.equal(normalizeFileName('/abs/path/x.txt'), 'x.txt');
  });

  test('are stored in NFC', () => {
    assert.equal(normalizeFileName('Cafe\u0301.txt'), 'Caf\u00e9.txt');
    assert.equal(fileNameFromUrl('Cafe\u0301.txt'), 'Caf\u00e9.txt');
  });

  test('reject empty, ".", "..", control and bidi-override characters', () => {
    for (const name of ['', '.', '..', 'dir/', 'a\u0000b', 'a\r\nb', 'a\u0085b', 'invoice\u202Efdp.exe', 'x\u2066y']) {
      assert.equal(
        code(() => normalizeFileName(name)),
        'invalid_name',
        JSON.stringify(name),
      );
    }
  });

  test('accept 255 UTF-8 bytes and reject 256', () => {
    assert.equal(
      code(() => normalizeFileName('a'.repeat(255))),
      'accepted',
    );
    assert.equal(
      code(() => normalizeFileName('a'.repeat(256))),
      'invalid_name',
    );
    assert.equal(
      code(() => normalizeFileName('é'.repeat(128))),
      'invalid_name',
    );
  });

  test('a URL name may not carry a path', () => {
    assert.equal(
      code(() => fileNameFromUrl('a/b')),
      'invalid_name',
    );
    assert.equal(
      code(() => fileNameFromUrl('..')),
      'invalid_name',
    );
  });
});

describe('bundle ids', () => {
  test('accept the documented alphabet up to 64 characters', () => {
    for (const bundle of ['foo', 'draft-1', 'ticket_42.reply', 'A'.repeat(64)]) {
      assert.equal(
        code(() => assertBundleId(bundle)),
        'accepted',
        bundle,
      );
    }
  });

  test('reject everything else', () => {
    for (const bundle of ['', '.', '..', '-x', 'a b', 'a/b', 'ü', 'A'.repeat(65)]) {
      assert.equal(
        code(() => assertBundleId(bundle)),
        'invalid_bundle',
        bundle,
      );
    }
  });
});
