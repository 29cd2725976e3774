// An instance may sweep before the resumable-uploads migration has run (another process runs
// the migrations, a release step runs them after the instances start). Once the table is
// there, its sweeps must count it: an unfinished upload's bytes are referenced by its rows, and
// an orphan sweep that still took the table for missing deleted them.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DataSource } from 'typeorm';
import { AttachmentsSweeper } from '../../src/attachments/expiry/attachments-sweeper.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { createUpload, headUpload, patchUpload } from '../support/tus.js';
import { Visitor } from '../support/visitor.js';

const HOUR = 3600_000;

for (const kind of DATABASE_KINDS) {
  describe(`the sweep and an uploads table installed after it first looked, on ${kind}`, () => {
    let running: RunningApp;
    before(async () => {
      running = await startApp(kind, { attachments: { inlineMaxSize: 0 } });
    });
    after(() => running.close());

    test("an unfinished upload's bytes stay", async () => {
      const dataSource = running.app.get(DataSource);
      const sweeper = running.app.get(AttachmentsSweeper);
      // The table is missing while the sweep first looks (as before its migration ran).
      await dataSource.query('ALTER TABLE session_attachment_uploads RENAME TO session_attachment_uploads_later');
      assert.equal(await sweeper.removeOrphans(HOUR), 0);
      await dataSource.query('ALTER TABLE session_attachment_uploads_later RENAME TO session_attachment_uploads');

      const visitor = new Visitor(running.baseUrl);
      const content = randomBytes(30_000);
      const { location } = await createUpload(visitor, 'later', 'paused.bin', content.byteLength);
      assert.equal((await patchUpload(visitor, location, 0, content.subarray(0, 10_000))).status, 204);
      // Paused for longer than orphanGracePeriod.
      const [upload] = await dataSource.query<Array<{ storage_key: string }>>(
        `SELECT storage_key FROM session_attachment_uploads WHERE id = '${location.split('/').pop()}'`,
      );
      const key = upload!.storage_key;
      const old = new Date(Date.now() - 3 * HOUR);
      await utimes(join(running.attachmentsDirectory, 'blobs', key.slice(0, 2), key), old, old);

      assert.equal(await sweeper.removeOrphans(HOUR), 0, 'the upload references its object');
      assert.equal((await headUpload(visitor, location)).headers.get('upload-offset'), '10000');
      assert.equal((await patchUpload(visitor, location, 10_000, content.subarray(10_000))).status, 204);
      const download = await visitor.get('/attachments/later/paused.bin');
      assert.equal(download.status, 200);
      assert.deepEqual(Buffer.from(await download.arrayBuffer()), content);
    });
  });
}
