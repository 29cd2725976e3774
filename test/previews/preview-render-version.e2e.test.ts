// A preview is named by how it was made, not only by its content and size: an instance whose
// sharp is another version (an upgrade, or the other half of a rolling deploy, on the same
// database and storage) neither answers `304` to the old ETag nor serves the preview stored by
// the old version; it makes and stores its own. The old one stays the old instance's until its
// source goes, and goes with it.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../support/databases.js';
import { testImage } from '../support/images.js';
import { countingSharp, previewRowCount } from '../support/previews.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { Visitor } from '../support/visitor.js';

for (const kind of DATABASE_KINDS) {
  describe(`previews of two sharp versions on one database, on ${kind}`, () => {
    let database: TestDatabase;
    let attachmentsDirectory: string;
    const original = countingSharp();
    // The same renders, reported as a newer sharp: all the module can know of an upgrade.
    const upgraded = countingSharp({ ...sharp.versions, sharp: '9.9.9' });
    let old: RunningApp;
    let upgrade: RunningApp;
    before(async () => {
      database = await createTestDatabase(kind);
      attachmentsDirectory = await mkdtemp(join(tmpdir(), 'attachments-render-version-'));
      // One after the other: the first applies the migrations.
      old = await startApp(kind, { database, attachmentsDirectory, attachments: { previews: { sharp: original.sharp } } });
      upgrade = await startApp(kind, {
        database,
        attachmentsDirectory,
        attachments: { previews: { sharp: upgraded.sharp } },
      });
    });
    after(async () => {
      await old.close();
      await upgrade.close();
      await database.drop();
      await rm(attachmentsDirectory, { recursive: true, force: true });
    });

    test('the new version makes its own preview, whatever the old ETag and stored preview', async () => {
      const photo = await testImage(300, 200).png().toBuffer();
      // Sessions live in each instance's memory here: one visitor each, holding the same photo.
      const [atOld, atUpgrade] = [new Visitor(old.baseUrl), new Visitor(upgrade.baseUrl)];
      for (const visitor of [atOld, atUpgrade])
        assert.equal((await visitor.upload('/attachments/v', [['f', 'photo.png', photo]])).status, 201);

      const first = await atOld.get('/attachments/v/photo.png/preview');
      assert.equal(first.status, 200);
      const oldTag = first.headers.get('etag')!;
      assert.equal(original.calls(), 1);

      // A browser that cached the old version's preview asks the new version.
      const renewed = await atUpgrade.get('/attachments/v/photo.png/preview', { 'if-none-match': oldTag });
      assert.equal(renewed.status, 200, 'not 304: the old ETag names the old version');
      const newTag = renewed.headers.get('etag')!;
      assert.notEqual(newTag, oldTag);
      assert.equal(upgraded.calls(), 1, 'made by the new version, not served from the old stored one');
      assert.equal(await previewRowCount(old), 2, 'each version has its own stored preview');

      // Both running at once: each keeps answering with its own, nothing made again.
      assert.equal((await atOld.get('/attachments/v/photo.png/preview', { 'if-none-match': oldTag })).status, 304);
      assert.equal((await atUpgrade.get('/attachments/v/photo.png/preview', { 'if-none-match': newTag })).status, 304);
      assert.equal((await atUpgrade.get('/attachments/v/photo.png/preview')).status, 200);
      assert.deepEqual([original.calls(), upgraded.calls()], [1, 1]);

      // The old version's preview goes with its source.
      assert.equal((await atOld.delete('/attachments/v/photo.png')).status, 204);
      assert.equal(await previewRowCount(old), 1);
      assert.equal(await old.blobCount(), 2, "the new version's source and preview");
    });
  });
}
