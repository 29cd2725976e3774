import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { describe, test } from 'node:test';
import type { ListedAttachment } from '../../src/attachments/attachment.js';
import { toAttachmentJson } from '../../src/attachments/http/attachment-json.js';
import { attachmentListJson } from '../../src/attachments/http/attachment-list-json.js';

/** What the list route sent before it wrote its JSON itself: Nest's res.json of the mapped list. */
function viaStringify(entries: ListedAttachment[], bundleUrl: string, previews: boolean): Buffer {
  const attachments = entries.map((entry) => ({
    bundle: 'b',
    name: entry.name,
    mimetype: entry.mimetype,
    size: entry.size,
    sha256: entry.sha256,
    created: new Date(entry.createdAt),
    updated: new Date(entry.updatedAt),
  }));
  return Buffer.from(JSON.stringify(attachments.map((attachment) => toAttachmentJson(attachment, bundleUrl, previews))));
}

/** A replaced file (updated after it was created) by default; `replaced: false`, one never replaced. */
function entry(name: string, mimetype = 'text/plain', at = Date.UTC(2026, 11, 5, 7, 30), replaced = true): ListedAttachment {
  return { name, mimetype, size: name.length * 3, sha256: 'ab'.repeat(32), createdAt: replaced ? at - 1 : at, updatedAt: at };
}

const AWKWARD_NAMES = [
  'plain.txt',
  'quote".txt',
  'back\\slash.txt',
  'tab\tand\nnewline\u0001.txt',
  'déjà vu.pdf',
  '日本語の名前.txt',
  'emoji 😀.png',
  'line\u2028separator.txt',
  'percent %20 and # and ?.txt',
  '</script>.html',
];

describe('attachmentListJson', () => {
  test('writes the same bytes as JSON.stringify of the attachments, for awkward names, with and without previews', () => {
    const entries = AWKWARD_NAMES.flatMap((name) => [
      entry(name),
      entry(`${name}.jpg`, 'image/jpeg'),
      entry(`${name}.kept`, 'text/plain', Date.UTC(2026, 11, 5, 7, 31), false),
    ]);
    for (const previews of [false, true])
      // The bundle's URL is the request's path as sent: whatever it holds is escaped as JSON.
      for (const bundleUrl of ['/attachments/draft-1', '/api/v1/files/b', '/x/"quoted"\\back/d\u00e9j\u00e0/\u2028'])
        assert.deepEqual(attachmentListJson(entries, bundleUrl, previews), viaStringify(entries, bundleUrl, previews));
  });

  test('media types unknown to the previews, awkward ones and many of them in one list come out as JSON.stringify writes them', () => {
    const types = ['text/plain', 'image/png', 'application/x-"odd"', 'image/svg+xml', 'image/heic', 'weird\\type\u0001'];
    const entries = Array.from({ length: 60 }, (_, index) => entry(`f-${index}`, types[index % types.length]));
    for (const previews of [false, true])
      assert.deepEqual(
        attachmentListJson(entries, '/attachments/b', previews),
        viaStringify(entries, '/attachments/b', previews),
      );
  });

  test('random names, sizes and times (every ASCII character, control characters, non-ASCII, emoji) come out as JSON.stringify writes them', () => {
    const pieces = [
      ...Array.from({ length: 128 }, (_, code) => String.fromCharCode(code)),
      'é',
      'ß',
      '日',
      '😀',
      '\u2028',
      '\ufeff',
      '\u00a0',
    ];
    const times = [
      0,
      -1,
      1,
      86_399_999,
      Date.UTC(1969, 11, 31, 23, 59, 59, 999),
      Date.UTC(9999, 11, 31),
      8.64e15 - 1e9,
      1_700_000_000_123.5,
    ];
    const sizes = [0, 1, 9, 10, 99, 100, 1023, 2 ** 31, 2 ** 53 - 1, Number.NaN, 1e21, 0.5];
    for (let trial = 0; trial < 20; trial += 1) {
      const entries = Array.from({ length: 200 }, (_, index) => {
        const name = Array.from({ length: randomInt(1, 40) }, () => pieces[randomInt(0, pieces.length)]!).join('');
        const createdAt = index % 5 === 0 ? times[randomInt(0, times.length)]! : randomInt(0, 2 ** 47) - 2 ** 46;
        return {
          name,
          mimetype: index % 2 ? 'image/png' : 'text/plain',
          size: index % 4 === 0 ? sizes[randomInt(0, sizes.length)]! : randomInt(0, 2 ** 47),
          sha256: index % 50 === 0 ? 'odd "hash"\u0000é' : randomBytes(32).toString('hex'),
          createdAt,
          updatedAt: index % 3 === 0 ? createdAt : createdAt + randomInt(0, 10 ** 9),
        };
      });
      for (const previews of [false, true])
        assert.deepEqual(
          attachmentListJson(entries, '/attachments/b', previews).toString('latin1'),
          viaStringify(entries, '/attachments/b', previews).toString('latin1'),
        );
    }
  });

  test('a row bigger than a chunk (a very long name) comes out whole, between others', () => {
    const entries = [
      entry('before.txt'),
      entry(`${'ü"'.repeat(20_000)}.txt`, 'image/png'),
      entry('x'.repeat(70_000)),
      entry('after.txt'),
    ];
    assert.deepEqual(attachmentListJson(entries, '/attachments/b', true), viaStringify(entries, '/attachments/b', true));
  });

  test('an empty bundle is an empty array', () => {
    assert.equal(attachmentListJson([], '/attachments/b', true).toString(), '[]');
  });

  test('a list long enough to be written in many chunks comes out whole and parses', () => {
    const entries = Array.from({ length: 3_000 }, (_, index) =>
      entry(
        `${'é'.repeat(randomInt(0, 40))}file-${index}.${index % 3 ? 'txt' : 'png'}`,
        index % 3 ? 'text/plain' : 'image/png',
        randomInt(0, 2 ** 44),
      ),
    );
    const written = attachmentListJson(entries, '/attachments/b', true);
    assert.deepEqual(written, viaStringify(entries, '/attachments/b', true));
    assert.equal((JSON.parse(written.toString()) as unknown[]).length, 3_000);
  });
});
