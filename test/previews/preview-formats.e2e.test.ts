// Previews of each image format the installed sharp decodes: a WebP fitted inside the size
// asked for, turned upright by its EXIF orientation, with no metadata left.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DATABASE_KINDS } from '../support/databases.js';
import { animatedGif, flatImage, testImage } from '../support/images.js';
import { previewOf } from '../support/previews.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { Visitor, type AttachmentBody } from '../support/visitor.js';

const FORMATS: Array<[name: string, make: () => Promise<Buffer>]> = [
  ['photo.jpg', () => testImage(600, 300).jpeg().toBuffer()],
  ['drawing.png', () => testImage(600, 300).png().toBuffer()],
  ['modern.webp', () => testImage(600, 300).webp().toBuffer()],
  ['still.avif', () => testImage(600, 300).avif().toBuffer()],
  // Flat, so that libvips' TIFF (its directory written after the pixels) stays within the
  // head that content detection reads: a longer one is detected as application/octet-stream.
  ['scan.tiff', () => flatImage(600, 300).tiff({ compression: 'deflate' }).toBuffer()],
  ['moving.gif', () => animatedGif(600, 300)],
];

for (const kind of DATABASE_KINDS) {
  describe(`preview formats on ${kind}`, () => {
    let running: RunningApp;
    before(async () => {
      running = await startApp(kind);
    });
    after(() => running.close());

    test('JPEG, PNG, WebP, AVIF, TIFF and GIF each preview as a WebP fitted inside 256 × 256', async () => {
      const visitor = new Visitor(running.baseUrl);
      for (const [name, make] of FORMATS) {
        assert.equal((await visitor.upload('/attachments/formats', [['f', name, await make()]])).status, 201, name);
        const response = await visitor.get(`/attachments/formats/${name}/preview`);
        assert.equal(response.status, 200, name);
        assert.equal(response.headers.get('content-type'), 'image/webp', name);
        const preview = await previewOf(response);
        assert.equal(preview.format, 'webp', name);
        assert.deepEqual([preview.width, preview.height], [256, 128], name);
      }
    });

    test('an animated GIF previews its first frame only', async () => {
      const visitor = new Visitor(running.baseUrl);
      await visitor.upload('/attachments/gif', [['f', 'two-frames.gif', await animatedGif(100, 50)]]);
      const preview = await previewOf(await visitor.get('/attachments/gif/two-frames.gif/preview'));
      assert.deepEqual([preview.width, preview.height, preview.pages ?? 1], [100, 50, 1]);
    });

    test('?size= picks another box from the fixed set; a small image is never enlarged; other sizes are 400', async () => {
      const visitor = new Visitor(running.baseUrl);
      await visitor.upload('/attachments/sizes', [
        ['f', 'big.png', await testImage(2000, 1000).png().toBuffer()],
        ['f', 'small.png', await testImage(40, 20).png().toBuffer()],
      ]);
      for (const [size, width] of [
        [64, 64],
        [128, 128],
        [512, 512],
        [1024, 1024],
      ] as const) {
        const preview = await previewOf(await visitor.get(`/attachments/sizes/big.png/preview?size=${size}`));
        assert.deepEqual([preview.width, preview.height], [width, width / 2], String(size));
      }
      const small = await previewOf(await visitor.get('/attachments/sizes/small.png/preview?size=1024'));
      assert.deepEqual([small.width, small.height], [40, 20]);
      for (const size of ['300', '0', '-256', 'big', '256px']) {
        const response = await visitor.get(`/attachments/sizes/big.png/preview?size=${size}`);
        assert.equal(response.status, 400, size);
        assert.equal(((await response.json()) as { code: string }).code, 'invalid_preview_size', size);
      }
    });

    test('EXIF orientation is applied and the metadata stripped', async () => {
      const visitor = new Visitor(running.baseUrl);
      // Stored 200 × 100 landscape, tagged "rotate 90° clockwise to view".
      const tagged = await testImage(200, 100)
        .withMetadata({ orientation: 6, density: 300 })
        .withExif({ IFD0: { Copyright: 'the visitor', Artist: 'the visitor' } })
        .jpeg()
        .toBuffer();
      await visitor.upload('/attachments/exif', [['f', 'sideways.jpg', tagged]]);
      const preview = await previewOf(await visitor.get('/attachments/exif/sideways.jpg/preview'));
      assert.deepEqual([preview.width, preview.height], [100, 200]);
      assert.equal(preview.orientation, undefined);
      assert.equal(preview.exif, undefined);
      assert.equal(preview.icc, undefined);
      assert.equal(preview.xmp, undefined);
    });

    test('the list gives a preview URL for images only', async () => {
      const visitor = new Visitor(running.baseUrl);
      await visitor.upload('/attachments/listed', [
        ['f', 'photo.jpg', await testImage(50, 50).jpeg().toBuffer()],
        ['f', 'notes.txt', 'plain text'],
        ['f', 'fake.jpg', 'text with an image name'],
      ]);
      const listed = await visitor.json<AttachmentBody[]>('/attachments/listed');
      assert.deepEqual(
        listed.map((attachment) => [attachment.name, attachment.preview]),
        [
          ['fake.jpg', undefined],
          ['notes.txt', undefined],
          ['photo.jpg', '/attachments/listed/photo.jpg/preview'],
        ],
      );
    });
  });
}
