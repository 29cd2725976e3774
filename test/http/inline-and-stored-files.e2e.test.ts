// Where a file's bytes live follows its size (inlineMaxSize): small ones in their row, larger
// ones in the storage. Either way a client sees the same attachment: bytes, Range, ETag,
// replacement across the threshold in both directions, and removal.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { DataSource } from 'typeorm';
import { sqlDialectFor } from '../../src/attachments/persistence/sql-dialect.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { Visitor, type AttachmentBody } from '../support/visitor.js';

const INLINE_MAX = 1024;
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

for (const kind of DATABASE_KINDS) {
  describe(`small files inline, larger ones in the storage, on ${kind}`, () => {
    let running: RunningApp;
    let placements: (bundle: string) => Promise<Record<string, 'inline' | 'stored'>>;
    before(async () => {
      running = await startApp(kind, { attachments: { inlineMaxSize: INLINE_MAX } });
      const dataSource = running.app.get(DataSource);
      placements = async (bundle) => {
        const rows = await dataSource.query<Array<{ name: string; inline: number | boolean }>>(
          `SELECT name, CASE WHEN content IS NULL THEN 0 ELSE 1 END AS inline FROM ${sqlDialectFor(dataSource).table} WHERE bundle = '${bundle}'`,
        );
        return Object.fromEntries(rows.map((row) => [row.name, Number(row.inline) === 1 ? 'inline' : 'stored']));
      };
    });
    after(() => running.close());

    test('one request with files on both sides of the threshold: each in its place, each with its own bytes', async () => {
      const visitor = new Visitor(running.baseUrl);
      const files = { 'a.bin': randomBytes(INLINE_MAX), 'b.bin': randomBytes(INLINE_MAX + 1), 'c.bin': randomBytes(10) };
      const blobs = await running.blobCount();
      const response = await visitor.upload(
        '/attachments/mixed',
        Object.entries(files).map(([name, content]) => ['f', name, content]),
      );
      assert.equal(response.status, 201);
      const body = (await response.json()) as AttachmentBody[];
      assert.deepEqual(await placements('mixed'), { 'a.bin': 'inline', 'b.bin': 'stored', 'c.bin': 'inline' });
      assert.equal(await running.blobCount(), blobs + 1, 'only the larger file is in the storage');
      for (const [name, content] of Object.entries(files)) {
        const download = await visitor.get(`/attachments/mixed/${name}`);
        const bytes = new Uint8Array(await download.arrayBuffer());
        assert.equal(download.status, 200);
        assert.equal(sha256(bytes), sha256(content), `${name} has its own bytes`);
        assert.equal(body.find((attachment) => attachment.name === name)?.sha256, sha256(content));
      }
    });

    test('an inline file answers Range with 206 and If-None-Match with 304, as a stored one does', async () => {
      const visitor = new Visitor(running.baseUrl);
      const content = Buffer.from('0123456789');
      await visitor.upload('/attachments/ranges', [['f', 'digits.txt', content]]);
      assert.deepEqual(await placements('ranges'), { 'digits.txt': 'inline' });
      const partial = await visitor.get('/attachments/ranges/digits.txt', { range: 'bytes=2-5' });
      assert.equal(partial.status, 206);
      assert.equal(partial.headers.get('content-range'), 'bytes 2-5/10');
      assert.equal(await partial.text(), '2345');
      const unchanged = await visitor.get('/attachments/ranges/digits.txt', { 'if-none-match': `"${sha256(content)}"` });
      assert.equal(unchanged.status, 304);
    });

    test('replacing across the threshold, both ways, keeps one copy of the bytes and no stale blob', async () => {
      const visitor = new Visitor(running.baseUrl);
      const blobs = await running.blobCount();
      await visitor.upload('/attachments/moves', [['f', 'doc.bin', randomBytes(10)]]);
      const large = randomBytes(INLINE_MAX * 2);
      await visitor.upload('/attachments/moves', [['f', 'doc.bin', large]]);
      assert.deepEqual(await placements('moves'), { 'doc.bin': 'stored' });
      assert.equal(await running.blobCount(), blobs + 1);
      assert.equal(sha256(new Uint8Array(await (await visitor.get('/attachments/moves/doc.bin')).arrayBuffer())), sha256(large));
      const small = randomBytes(5);
      await visitor.upload('/attachments/moves', [['f', 'doc.bin', small]]);
      assert.deepEqual(await placements('moves'), { 'doc.bin': 'inline' });
      assert.equal(await running.blobCount(), blobs, 'the replaced blob is deleted');
      assert.equal(sha256(new Uint8Array(await (await visitor.get('/attachments/moves/doc.bin')).arrayBuffer())), sha256(small));
      assert.equal((await visitor.delete('/attachments/moves/doc.bin')).status, 204);
      assert.equal((await visitor.get('/attachments/moves/doc.bin')).status, 404);
    });
  });
}
