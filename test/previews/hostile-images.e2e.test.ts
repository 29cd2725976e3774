// Hostile or broken images never break an upload, and their preview is refused with 422
// preview_unavailable; what is not an image (whatever its name) has no preview (404).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DATABASE_KINDS } from '../support/databases.js';
import { pngBomb, testImage } from '../support/images.js';
import { previewOf, previewRowCount } from '../support/previews.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { Visitor, type AttachmentBody } from '../support/visitor.js';

for (const kind of DATABASE_KINDS) {
  describe(`hostile images on ${kind}`, () => {
    let running: RunningApp;
    before(async () => {
      running = await startApp(kind);
    });
    after(() => running.close());

    const uploaded = async (bundle: string, name: string, content: string | Uint8Array) => {
      const visitor = new Visitor(running.baseUrl);
      const response = await visitor.upload(`/attachments/${bundle}`, [['f', name, content]]);
      assert.equal(response.status, 201, `${name} is stored although no preview can be made of it`);
      return { visitor, stored: ((await response.json()) as AttachmentBody[])[0]! };
    };
    const assertRefused = async (response: Response, status: number, code: string) => {
      assert.equal(response.status, status);
      assert.equal(((await response.json()) as { code: string }).code, code);
    };

    test('a decompression bomb (a tiny PNG declaring 50,000 × 50,000 pixels) is stored, its preview 422', async () => {
      const bomb = pngBomb(50_000, 50_000);
      assert.ok(bomb.length < 1024);
      const { visitor, stored } = await uploaded('bomb', 'bomb.png', bomb);
      assert.equal(stored.mimetype, 'image/png');
      const rows = await previewRowCount(running);
      await assertRefused(await visitor.get('/attachments/bomb/bomb.png/preview'), 422, 'preview_unavailable');
      assert.equal(await previewRowCount(running), rows, 'nothing stored for it');
      // The attachment itself is untouched.
      assert.deepEqual(Buffer.from(await (await visitor.get('/attachments/bomb/bomb.png')).arrayBuffer()), bomb);
    });

    test('a truncated JPEG and a truncated PNG answer 422 preview_unavailable', async () => {
      const jpeg = await testImage(400, 300).jpeg().toBuffer();
      const png = await testImage(400, 300).png().toBuffer();
      const { visitor } = await uploaded('cut', 'half.jpg', jpeg.subarray(0, jpeg.length / 2));
      await visitor.upload('/attachments/cut', [['f', 'half.png', png.subarray(0, Math.floor(png.length * 0.7))]]);
      await assertRefused(await visitor.get('/attachments/cut/half.jpg/preview'), 422, 'preview_unavailable');
      await assertRefused(await visitor.get('/attachments/cut/half.png/preview'), 422, 'preview_unavailable');
    });

    test('a corrupt image (JPEG magic, then noise) answers 422 preview_unavailable', async () => {
      const corrupt = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(2000, 0x5a)]);
      const { visitor, stored } = await uploaded('corrupt', 'corrupt.jpg', corrupt);
      assert.equal(stored.mimetype, 'image/jpeg');
      await assertRefused(await visitor.get('/attachments/corrupt/corrupt.jpg/preview'), 422, 'preview_unavailable');
    });

    test('an HEIC file sharp cannot decode (the prebuilt sharp has no HEVC decoder) is stored, its preview 422', async () => {
      const box = (type: string, body: Buffer) => {
        const head = Buffer.alloc(8);
        head.writeUInt32BE(8 + body.length);
        head.write(type, 4, 'latin1');
        return Buffer.concat([head, body]);
      };
      const heic = Buffer.concat([box('ftyp', Buffer.from('heic\0\0\0\0mif1heic', 'latin1')), box('meta', Buffer.alloc(64))]);
      const { visitor, stored } = await uploaded('heic', 'from-a-phone.heic', heic);
      assert.equal(stored.mimetype, 'image/heic');
      assert.equal(stored.preview, '/attachments/heic/from-a-phone.heic/preview');
      await assertRefused(await visitor.get('/attachments/heic/from-a-phone.heic/preview'), 422, 'preview_unavailable');
    });

    test('the content decides, not the extension: a PNG named .jpg previews, text named .jpg has none', async () => {
      const { visitor } = await uploaded('names', 'really-a-png.jpg', await testImage(300, 300).png().toBuffer());
      const response = await visitor.get('/attachments/names/really-a-png.jpg/preview');
      assert.equal(response.status, 200);
      assert.equal((await previewOf(response)).format, 'webp');
      await visitor.upload('/attachments/names', [['f', 'not-an-image.jpg', 'just some text']]);
      await assertRefused(await visitor.get('/attachments/names/not-an-image.jpg/preview'), 404, 'no_preview');
    });

    test('non-images have no preview (404 no_preview), SVG included; a missing file is 404 not_found', async () => {
      const { visitor } = await uploaded('other', 'notes.txt', 'plain text');
      await visitor.upload('/attachments/other', [['f', 'logo.svg', '<svg xmlns="http://www.w3.org/2000/svg"/>']]);
      await assertRefused(await visitor.get('/attachments/other/notes.txt/preview'), 404, 'no_preview');
      await assertRefused(await visitor.get('/attachments/other/logo.svg/preview'), 404, 'no_preview');
      await assertRefused(await visitor.get('/attachments/other/missing.png/preview'), 404, 'not_found');
    });
  });

  describe(`previews off on ${kind}`, () => {
    let running: RunningApp;
    before(async () => {
      running = await startApp(kind, { attachments: { previews: undefined } });
    });
    after(() => running.close());

    test('without the previews option the list has no preview URLs and the route answers 404 no_preview', async () => {
      const visitor = new Visitor(running.baseUrl);
      await visitor.upload('/attachments/off', [['f', 'photo.jpg', await testImage(50, 50).jpeg().toBuffer()]]);
      const [listed] = await visitor.json<AttachmentBody[]>('/attachments/off');
      assert.equal(listed!.preview, undefined);
      const response = await visitor.get('/attachments/off/photo.jpg/preview');
      assert.equal(response.status, 404);
      assert.equal(((await response.json()) as { code: string }).code, 'no_preview');
    });
  });
}
