// A preview looks the name up, then reads the source's bytes and makes the preview. A replacing
// upload (or a delete) that commits in between takes the old bytes and their preview away: the
// preview request looks the name up once more and answers with the new file's preview (and
// its ETag), or 404 when the name is gone; no preview row or blob of the old bytes is left.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import type { PreviewSharp } from '../../src/attachments/index.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { testImage } from '../support/images.js';
import { previewOf, previewRowCount } from '../support/previews.js';
import { PLACEMENTS, startApp, type RunningApp } from '../support/test-app.js';
import { Visitor, type AttachmentBody } from '../support/visitor.js';
import { InterruptedReads } from '../support/interrupted-reads.js';
import { previewETag, withSharpVersions } from '../support/previews.js';

/** The real sharp, running `beforeNextRender` (once) before a preview is encoded. */
function interruptedSharp(): { sharp: PreviewSharp; beforeNextRender: (() => Promise<void>) | undefined } {
  const control: { sharp: PreviewSharp; beforeNextRender: (() => Promise<void>) | undefined } = {
    beforeNextRender: undefined,
    sharp: withSharpVersions((input, options) => {
      const pipeline = sharp(input, options);
      const toBuffer = pipeline.toBuffer.bind(pipeline);
      return Object.assign(pipeline, {
        toBuffer: async () => {
          const interrupt = control.beforeNextRender;
          control.beforeNextRender = undefined;
          await interrupt?.();
          return toBuffer();
        },
      });
    }),
  };
  return control;
}

for (const kind of DATABASE_KINDS) {
  for (const placement of PLACEMENTS) {
    describe(`a preview whose file changes while it is made, on ${kind}, ${placement.name}`, () => {
      let running: RunningApp;
      let storage: InterruptedReads;
      let previews: ReturnType<typeof interruptedSharp>;
      before(async () => {
        const directory = await mkdtemp(join(tmpdir(), 'attachments-preview-race-'));
        storage = new InterruptedReads({ directory });
        previews = interruptedSharp();
        running = await startApp(kind, {
          attachments: { storage, previews: { sharp: previews.sharp }, inlineMaxSize: placement.inlineMaxSize },
          attachmentsDirectory: directory,
        });
      });
      after(async () => {
        await running.close();
        await rm(running.attachmentsDirectory, { recursive: true, force: true });
      });

      const upload = async (visitor: Visitor, bundle: string, width: number, height: number) => {
        const response = await visitor.upload(`/attachments/${bundle}`, [
          ['f', 'photo.png', await testImage(width, height).png().toBuffer()],
        ]);
        assert.equal(response.status, 201);
        return ((await response.json()) as AttachmentBody[])[0]!;
      };

      test('replaced while its preview is being encoded: the new file’s preview, with its ETag', async () => {
        const visitor = new Visitor(running.baseUrl);
        await upload(visitor, 'encoding', 60, 30);
        const rows = await previewRowCount(running);
        let replaced: AttachmentBody | undefined;
        previews.beforeNextRender = async () => {
          replaced = await upload(visitor, 'encoding', 20, 40);
          await running.replacedDeleted();
        };
        const response = await visitor.get('/attachments/encoding/photo.png/preview');
        assert.equal(previews.beforeNextRender, undefined, 'the preview was interrupted');
        assert.equal(response.status, 200);
        assert.equal(response.headers.get('etag'), previewETag(replaced!.sha256, 256));
        const preview = await previewOf(response);
        assert.deepEqual([preview.width, preview.height], [20, 40]);
        assert.equal(await previewRowCount(running), rows + 1, "the new file's preview only");
      });

      test("replaced before its bytes are read: the new file's preview", async () => {
        const visitor = new Visitor(running.baseUrl);
        await upload(visitor, 'reading', 60, 30);
        let replaced: AttachmentBody | undefined;
        const interrupt = async () => {
          replaced = await upload(visitor, 'reading', 30, 60);
          await running.replacedDeleted();
        };
        // Inline files are not read from the storage: they are replaced before the encoding instead.
        if (placement.inlineMaxSize === 0) storage.beforeNextRead = interrupt;
        else previews.beforeNextRender = interrupt;
        const response = await visitor.get('/attachments/reading/photo.png/preview?size=64');
        assert.equal(storage.beforeNextRead ?? previews.beforeNextRender, undefined, 'the preview was interrupted');
        assert.equal(response.status, 200);
        assert.equal(response.headers.get('etag'), previewETag(replaced!.sha256, 64));
        const preview = await previewOf(response);
        assert.deepEqual([preview.width, preview.height], [30, 60]);
      });

      test('deleted while its preview is being encoded: 404 not_found, nothing stored', async () => {
        const visitor = new Visitor(running.baseUrl);
        await upload(visitor, 'deleted', 60, 30);
        const rows = await previewRowCount(running);
        const blobs = await running.blobCount();
        previews.beforeNextRender = async () => {
          assert.equal((await visitor.delete('/attachments/deleted/photo.png')).status, 204);
        };
        const response = await visitor.get('/attachments/deleted/photo.png/preview');
        assert.equal(response.status, 404);
        assert.equal(((await response.json()) as { code: string }).code, 'not_found');
        assert.equal(await previewRowCount(running), rows);
        assert.equal(await running.blobCount(), blobs - (placement.inlineMaxSize === 0 ? 1 : 0));
      });
    });
  }
}
