// A sweep run where previews are not configured (the command, an instance without sharp) still
// keeps the previews another instance made, and removes those of the attachments it removes.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AttachmentsSweeper } from '../../src/attachments/index.js';
import { ageAttachments } from '../support/cli.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../support/databases.js';
import { testImage } from '../support/images.js';
import { previewRowCount } from '../support/previews.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { Visitor } from '../support/visitor.js';

const HOUR = 3600_000;

for (const kind of DATABASE_KINDS) {
  describe(`previews and a sweep without previews on ${kind}`, () => {
    let database: TestDatabase;
    let attachmentsDirectory: string;
    let withPreviews: RunningApp;
    let withoutPreviews: RunningApp;
    before(async () => {
      database = await createTestDatabase(kind);
      attachmentsDirectory = await mkdtemp(join(tmpdir(), 'attachments-shared-'));
      withPreviews = await startApp(kind, { database, attachmentsDirectory, attachments: { inlineMaxSize: 0 } });
      withoutPreviews = await startApp(kind, {
        database,
        attachmentsDirectory,
        attachments: { previews: undefined, inlineMaxSize: 0 },
      });
    });
    after(async () => {
      await withPreviews.close();
      await withoutPreviews.close();
      await database.drop();
      await rm(attachmentsDirectory, { recursive: true, force: true });
    });

    test('live previews count as referenced; the previews of swept attachments go with them', async () => {
      const visitor = new Visitor(withPreviews.baseUrl);
      await visitor.upload('/attachments/mixed', [
        ['f', 'live.jpg', await testImage(300, 200).jpeg().toBuffer()],
        ['f', 'stale.jpg', await testImage(200, 300).jpeg().toBuffer()],
      ]);
      assert.equal((await visitor.get('/attachments/mixed/live.jpg/preview')).status, 200);
      assert.equal((await visitor.get('/attachments/mixed/stale.jpg/preview')).status, 200);
      assert.equal(await previewRowCount(withPreviews), 2);
      const old = new Date(Date.now() - 3 * HOUR);
      const blobs = join(attachmentsDirectory, 'blobs');
      for (const entry of await readdir(blobs, { recursive: true, withFileTypes: true })) {
        if (entry.isFile()) await utimes(join(entry.parentPath, entry.name), old, old);
      }
      await ageAttachments(withPreviews, 2 * HOUR, ['stale.jpg']);
      const report = await withoutPreviews.app.get(AttachmentsSweeper).sweep({ olderThan: HOUR });
      assert.equal(report?.outdated.count, 1);
      assert.equal(report?.orphans, 0);
      assert.equal(await previewRowCount(withPreviews), 1);
      assert.equal(await withPreviews.blobCount(), 2, 'live.jpg and its preview');
      assert.equal((await visitor.get('/attachments/mixed/live.jpg/preview')).status, 200);
    });
  });
}
