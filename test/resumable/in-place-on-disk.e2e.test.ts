// On DiskStorage (ResumableWrites) a tus upload is written in place: one blob from its creation,
// every PATCH at its offset, and at the finish that blob is the attachment's, without a copy.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DataSource } from 'typeorm';
import { DATABASE_KINDS } from '../support/databases.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { chunkedPatch, createTusUpload, streamingPatch, tusOffset, tusPatch } from '../support/tus-requests.js';
import { Visitor } from '../support/visitor.js';
import { waitFor } from '../support/wait-for.js';

const MiB = 1024 * 1024;
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Every file under the storage's blobs folder, with its size. */
async function blobs(directory: string): Promise<Array<{ key: string; size: number }>> {
  const folder = join(directory, 'blobs');
  const entries = await readdir(folder, { recursive: true, withFileTypes: true }).catch(() => []);
  return Promise.all(
    entries
      .filter((entry) => entry.isFile())
      .map(async (entry) => ({ key: entry.name, size: (await stat(join(entry.parentPath, entry.name))).size })),
  );
}

/** How many descriptors this process (the app runs in it) holds open on `file`: its writers. */
async function openDescriptors(file: string): Promise<number> {
  const links = await Promise.all(
    (await readdir('/proc/self/fd')).map((fd) => readlink(join('/proc/self/fd', fd)).catch(() => '')),
  );
  return links.filter((link) => link === file).length;
}

for (const kind of DATABASE_KINDS) {
  describe(`tus uploads in place on DiskStorage, ${kind}`, () => {
    let running: RunningApp;
    let sql: <T>(text: string) => Promise<T[]>;
    before(async () => {
      running = await startApp(kind, { attachments: { inlineMaxSize: 0 } });
      const dataSource = running.app.get(DataSource);
      sql = <T>(text: string) => dataSource.query<T[]>(text);
    });
    after(() => running.close());

    test('one blob from the creation on, grown by each PATCH with no parts; at the finish it is the attachment blob itself', async () => {
      const visitor = new Visitor(running.baseUrl);
      const file = randomBytes(9 * MiB + 1);
      const path = await createTusUpload(visitor, 'inplace', 'scan.bin', file.length);
      const [created] = await blobs(running.attachmentsDirectory);
      assert.deepEqual(await blobs(running.attachmentsDirectory), [{ key: created!.key, size: 0 }], 'an empty blob at creation');
      const [upload] = await sql<{ storage_key: string }>(`SELECT storage_key FROM session_attachment_uploads`);
      assert.equal(upload?.storage_key, created!.key, 'the upload row names it, so the orphan sweep keeps it');

      const url = running.baseUrl + path;
      for (const [start, end] of [
        [0, 4 * MiB],
        [4 * MiB, 8 * MiB],
      ] as const) {
        const answer = await tusPatch(url, visitor.cookie, start, file.subarray(start, end));
        assert.equal(answer.status, 204, answer.body);
        assert.deepEqual(await blobs(running.attachmentsDirectory), [{ key: created!.key, size: end }]);
      }
      assert.deepEqual(await sql(`SELECT 1 FROM session_attachment_upload_parts`), [], 'no parts in place');

      const done = await tusPatch(url, visitor.cookie, 8 * MiB, file.subarray(8 * MiB));
      assert.equal(done.status, 204, done.body);
      assert.equal(done.attachment?.sha256, sha256(file));
      const [row] = await sql<{ storage_key: string }>(`SELECT storage_key FROM session_attachments WHERE name = 'scan.bin'`);
      assert.equal(row?.storage_key, created!.key, 'the attachment blob is the object the PATCHes wrote into');
      assert.deepEqual(await blobs(running.attachmentsDirectory), [{ key: created!.key, size: file.length }]);
      const download = await visitor.get('/attachments/inplace/scan.bin');
      assert.equal(sha256(new Uint8Array(await download.arrayBuffer())), sha256(file));
    });

    test('two PATCHes at one offset at once write into the same blob: one counts (204), the other is 409, and the file comes out whole', async () => {
      const visitor = new Visitor(running.baseUrl);
      const file = randomBytes(3 * MiB);
      const path = await createTusUpload(visitor, 'race', 'race.bin', file.length);
      const url = running.baseUrl + path;
      assert.equal((await tusPatch(url, visitor.cookie, 0, file.subarray(0, MiB))).status, 204);
      const [upload] = await sql<{ storage_key: string }>(
        `SELECT storage_key FROM session_attachment_uploads WHERE name = 'race.bin'`,
      );
      const blob = join(running.attachmentsDirectory, 'blobs', upload!.storage_key.slice(0, 2), upload!.storage_key);
      // A client that retries a PATCH it thinks lost: the same bytes at the same offset, twice.
      const racers = [0, 1].map(() => streamingPatch(url, visitor.cookie, MiB, MiB));
      for (const racer of racers) await racer.write(file.subarray(MiB, MiB + 64 * 1024));
      assert.ok(await waitFor(async () => (await openDescriptors(blob)) === 2), 'both are writing into the blob');
      for (const racer of racers) {
        await racer.write(file.subarray(MiB + 64 * 1024, 2 * MiB));
        await racer.end();
      }
      const answers = await Promise.all(racers.map((racer) => racer.answer));
      assert.deepEqual(answers.map((answer) => (answer instanceof Error ? answer.message : answer.status)).sort(), [204, 409]);
      assert.equal((await tusOffset(visitor, path)).offset, 2 * MiB);
      const done = await tusPatch(url, visitor.cookie, 2 * MiB, file.subarray(2 * MiB));
      assert.equal(done.status, 204, done.body);
      assert.equal(done.attachment?.sha256, sha256(file));
      assert.equal((await stat(blob)).size, file.length);
      const download = await visitor.get('/attachments/race/race.bin');
      assert.equal(sha256(new Uint8Array(await download.arrayBuffer())), sha256(file));
    });

    test('a chunked PATCH bringing more than the upload has room for is refused, and nothing past the length reaches the blob', async () => {
      const visitor = new Visitor(running.baseUrl);
      const file = randomBytes(2 * MiB + 3);
      const path = await createTusUpload(visitor, 'overlong', 'clip.bin', file.length);
      const url = running.baseUrl + path;
      const status = await chunkedPatch(url, visitor.cookie, 0, Buffer.concat([file, randomBytes(256 * 1024)]));
      assert.ok(status === 400 || status === 413, `refused (${status})`);
      assert.equal((await tusOffset(visitor, path)).offset, 0, 'the refused PATCH counts for nothing');

      const done = await tusPatch(url, visitor.cookie, 0, file);
      assert.equal(done.status, 204, done.body);
      assert.equal(done.attachment?.size, file.length);
      const [row] = await sql<{ storage_key: string }>(`SELECT storage_key FROM session_attachments WHERE name = 'clip.bin'`);
      const blob = (await blobs(running.attachmentsDirectory)).find((candidate) => candidate.key === row?.storage_key);
      assert.equal(blob?.size, file.length, 'the blob holds the file, not the refused tail');
      const download = Buffer.from(await (await visitor.get('/attachments/overlong/clip.bin')).arrayBuffer());
      assert.equal(download.length, file.length);
      assert.equal(sha256(download), sha256(file));
    });
  });
}
