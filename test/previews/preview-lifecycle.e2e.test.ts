// A preview is private like its download, made once per content and size (however many
// requests ask at once), stored and served from storage afterwards, and gone with its
// attachment: removed, replaced, cleared, taken or swept.
import assert from 'node:assert/strict';
import { readdir, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DataSource } from 'typeorm';
import { AttachmentsSweeper } from '../../src/attachments/index.js';
import { ageAttachments } from '../support/cli.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { testImage } from '../support/images.js';
import { countingSharp, previewETag, previewOf, previewRowCount } from '../support/previews.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { Visitor, type AttachmentBody } from '../support/visitor.js';

const HOUR = 3600_000;

for (const kind of DATABASE_KINDS) {
  describe(`preview lifecycle on ${kind}`, () => {
    let running: RunningApp;
    let sharp: ReturnType<typeof countingSharp>;
    before(async () => {
      sharp = countingSharp();
      // Every source image to the storage, so that its blob and its previews' can be counted apart.
      running = await startApp(kind, { attachments: { previews: { sharp: sharp.sharp }, inlineMaxSize: 0 } });
    });
    after(() => running.close());

    const uploadPhoto = async (bundle: string, name = 'photo.jpg', width = 640) => {
      const visitor = new Visitor(running.baseUrl);
      const response = await visitor.upload(`/attachments/${bundle}`, [
        ['f', name, await testImage(width, 480).jpeg().toBuffer()],
      ]);
      assert.equal(response.status, 201);
      const [stored] = (await response.json()) as AttachmentBody[];
      return { visitor, stored: stored! };
    };

    test("another session's attachment has no preview to it: 404 not_found, as for its download", async () => {
      const { visitor } = await uploadPhoto('private');
      assert.equal((await visitor.get('/attachments/private/photo.jpg/preview')).status, 200);
      const stranger = new Visitor(running.baseUrl);
      await stranger.json('/attachments/private');
      const response = await stranger.get('/attachments/private/photo.jpg/preview');
      assert.equal(response.status, 404);
      assert.equal(((await response.json()) as { code: string }).code, 'not_found');
      assert.equal((await new Visitor(running.baseUrl).get('/attachments/private/photo.jpg/preview')).status, 404);
    });

    test("the download's safety headers, private caching, an ETag of content, size and render version, and 304 for it", async () => {
      const { visitor, stored } = await uploadPhoto('headers');
      const response = await visitor.get('/attachments/headers/photo.jpg/preview?size=128');
      await response.arrayBuffer();
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(response.headers.get('content-security-policy'), "default-src 'none'; sandbox");
      assert.match(response.headers.get('cache-control') ?? '', /^private\b/);
      assert.equal(response.headers.get('etag'), previewETag(stored.sha256, 128));
      assert.match(response.headers.get('content-disposition') ?? '', /^inline; filename="?photo\.jpg\.webp"?$/);
      const other = await visitor.get('/attachments/headers/photo.jpg/preview');
      await other.arrayBuffer();
      assert.equal(other.headers.get('etag'), previewETag(stored.sha256, 256));
      const cached = await visitor.get('/attachments/headers/photo.jpg/preview?size=128', {
        'if-none-match': previewETag(stored.sha256, 128),
      });
      assert.equal(cached.status, 304);
      assert.equal(cached.headers.get('etag'), previewETag(stored.sha256, 128));
      const stale = await visitor.get('/attachments/headers/photo.jpg/preview', {
        'if-none-match': previewETag(stored.sha256, 128),
      });
      assert.equal(stale.status, 200);
    });

    test('made on the first request and stored: later requests stream the stored bytes without sharp', async () => {
      const { visitor } = await uploadPhoto('cached', 'photo.jpg', 800);
      const calls = sharp.calls();
      const rows = await previewRowCount(running);
      const first = Buffer.from(await (await visitor.get('/attachments/cached/photo.jpg/preview')).arrayBuffer());
      assert.equal(sharp.calls(), calls + 1);
      assert.equal(await previewRowCount(running), rows + 1);
      const second = Buffer.from(await (await visitor.get('/attachments/cached/photo.jpg/preview')).arrayBuffer());
      assert.equal(sharp.calls(), calls + 1, 'the second request made nothing');
      assert.deepEqual(second, first);
    });

    test('ten concurrent first requests make the preview once: one sharp run, one row, one blob', async () => {
      const { visitor } = await uploadPhoto('burst', 'photo.jpg', 1200);
      const calls = sharp.calls();
      const rows = await previewRowCount(running);
      const blobs = await running.blobCount();
      const responses = await Promise.all(
        Array.from({ length: 10 }, () => visitor.get('/attachments/burst/photo.jpg/preview?size=512')),
      );
      const bodies = await Promise.all(responses.map(async (response) => Buffer.from(await response.arrayBuffer())));
      assert.deepEqual(
        responses.map((response) => response.status),
        Array(10).fill(200),
      );
      for (const body of bodies) assert.deepEqual(body, bodies[0]);
      assert.equal(sharp.calls(), calls + 1);
      assert.equal(await previewRowCount(running), rows + 1);
      assert.equal(await running.blobCount(), blobs + 1);
    });

    test('the same content in two sessions shares one stored preview', async () => {
      const bytes = await testImage(300, 200).png().toBuffer();
      const first = new Visitor(running.baseUrl);
      const second = new Visitor(running.baseUrl);
      await first.upload('/attachments/shared', [['f', 'a.png', bytes]]);
      await second.upload('/attachments/shared', [['f', 'b.png', bytes]]);
      const calls = sharp.calls();
      assert.equal((await first.get('/attachments/shared/a.png/preview')).status, 200);
      assert.equal((await second.get('/attachments/shared/b.png/preview')).status, 200);
      assert.equal(sharp.calls(), calls + 1);
    });

    test('removing, replacing or clearing an attachment removes its previews, rows and bytes', async () => {
      const { visitor } = await uploadPhoto('removal');
      const rows = await previewRowCount(running);
      const blobs = await running.blobCount();
      await visitor.get('/attachments/removal/photo.jpg/preview');
      await visitor.get('/attachments/removal/photo.jpg/preview?size=64');
      assert.equal(await previewRowCount(running), rows + 2);
      assert.equal((await visitor.delete('/attachments/removal/photo.jpg')).status, 204);
      assert.equal(await previewRowCount(running), rows);
      assert.equal(await running.blobCount(), blobs - 1);

      await visitor.upload('/attachments/removal', [['f', 'photo.jpg', await testImage(100, 100).jpeg().toBuffer()]]);
      const before = await previewOf(await visitor.get('/attachments/removal/photo.jpg/preview'));
      assert.equal(await previewRowCount(running), rows + 1);
      await visitor.upload('/attachments/removal', [['f', 'photo.jpg', await testImage(200, 50).jpeg().toBuffer()]]);
      assert.equal(await previewRowCount(running), rows, 'the replaced content took its preview along');
      const after = await previewOf(await visitor.get('/attachments/removal/photo.jpg/preview'));
      assert.deepEqual([before.width, after.width, after.height], [100, 200, 50]);

      assert.equal((await visitor.delete('/attachments/removal')).status, 204);
      assert.equal(await previewRowCount(running), rows);
      assert.equal(await running.blobCount(), blobs - 1);
    });

    test("a bundle sent through the demo's take() takes its previews along", async () => {
      const { visitor } = await uploadPhoto('taken');
      await visitor.get('/attachments/taken/photo.jpg/preview');
      const rows = await previewRowCount(running);
      assert.equal((await visitor.post('/drafts/taken/send')).status, 200);
      assert.equal(await previewRowCount(running), rows - 1);
    });

    test('the orphan sweep removes a preview whose attachment row went without it (a crash, a race)', async () => {
      const { visitor, stored } = await uploadPhoto('crashed', 'gone.jpg', 320);
      await visitor.get('/attachments/crashed/gone.jpg/preview');
      const rows = await previewRowCount(running);
      const blobs = await running.blobCount();
      const dataSource = running.app.get(DataSource);
      const postgres = dataSource.options.type === 'postgres';
      // The row goes behind the module's back, and the preview is made old.
      await dataSource.query(`DELETE FROM session_attachments WHERE sha256 = ${postgres ? '$1' : '?'}`, [stored.sha256]);
      await dataSource.query(`UPDATE session_attachment_previews SET created_at = created_at - ${postgres ? '$1' : '?'}`, [
        3 * HOUR,
      ]);
      const sweeper = running.app.get(AttachmentsSweeper);
      // The attachment's own blob is young, so only the preview (and its row) goes; a dry run
      // (the command's --dry-run) counts it and leaves it.
      assert.equal(await sweeper.removeOrphans(HOUR, true), 1, 'a dry run counts what the sweep would remove');
      assert.equal(await previewRowCount(running), rows);
      assert.equal(await sweeper.removeOrphans(HOUR), 1);
      assert.equal(await previewRowCount(running), rows - 1);
      assert.equal(await running.blobCount(), blobs - 1);
      assert.equal(await sweeper.removeOrphans(0), 1, "the attachment's own blob, once past any grace");
    });

    test('the expiry sweep removes the previews of what it removes; the orphan sweep keeps live previews', async () => {
      const { visitor } = await uploadPhoto('swept', 'old.jpg');
      await uploadPhoto('kept', 'live.jpg').then(async ({ visitor: keeper }) => {
        await keeper.get('/attachments/kept/live.jpg/preview');
      });
      await visitor.get('/attachments/swept/old.jpg/preview');
      const rows = await previewRowCount(running);
      // Every stored object made old: age alone must not make a live preview an orphan.
      const old = new Date(Date.now() - 3 * HOUR);
      const blobs = join(running.attachmentsDirectory, 'blobs');
      for (const entry of await readdir(blobs, { recursive: true, withFileTypes: true })) {
        if (entry.isFile()) await utimes(join(entry.parentPath, entry.name), old, old);
      }
      const sweeper = running.app.get(AttachmentsSweeper);
      assert.equal(await sweeper.removeOrphans(HOUR), 0);
      assert.equal(await previewRowCount(running), rows);
      await ageAttachments(running, 2 * HOUR, ['old.jpg']);
      const report = await sweeper.sweep({ olderThan: HOUR });
      assert.equal(report?.outdated.count, 1);
      assert.equal(await previewRowCount(running), rows - 1);
      assert.equal((await visitor.get('/attachments/swept/old.jpg/preview')).status, 404);
    });
  });
}
