// A file is read up to a prefix before anything is decided (its type from the first bytes,
// inline or stored from its size). When the chunk that completes the prefix is also the
// file's last, the stream ends at once: the file must still be stored whole, not empty.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { SNIFF_BYTES } from '../../src/attachments/content-type.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { Visitor, type AttachmentBody } from '../support/visitor.js';

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
const INLINE_MAX = 64 * 1024;

/** Sizes at and just past each prefix the module reads, and a few chunks beyond. */
const CASES = [
  { placement: 'every file in the storage', inlineMaxSize: 0, prefix: SNIFF_BYTES },
  { placement: 'small files inline', inlineMaxSize: INLINE_MAX, prefix: INLINE_MAX + 1 },
] as const;

for (const kind of DATABASE_KINDS) {
  for (const { placement, inlineMaxSize, prefix } of CASES) {
    describe(`sizes around the sniffed prefix (${placement}) on ${kind}`, () => {
      let running: RunningApp;
      before(async () => {
        running = await startApp(kind, { attachments: { inlineMaxSize } });
      });
      after(() => running.close());

      test('every file whose last chunk completes the prefix is stored and served whole', async () => {
        const visitor = new Visitor(running.baseUrl);
        for (const size of [prefix - 1, prefix, prefix + 1, prefix + 500, 2 * prefix, 100_000]) {
          const content = randomBytes(size);
          const response = await visitor.upload('/attachments/sizes', [['f', `${size}.bin`, content]]);
          assert.equal(response.status, 201);
          const [stored] = (await response.json()) as AttachmentBody[];
          assert.deepEqual([stored!.size, stored!.sha256], [size, sha256(content)], `${size} bytes`);
          const download = await visitor.get(`/attachments/sizes/${size}.bin`);
          assert.equal(sha256(new Uint8Array(await download.arrayBuffer())), sha256(content), `${size} bytes back`);
        }
      });
    });
  }
}
