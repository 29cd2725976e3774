/// <reference lib="dom" />
// The demo page shows a thumbnail beside each image, loaded from the preview route.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { launchChromium } from '../support/browser.js';
import { testImage } from '../support/images.js';
import { startApp, type RunningApp } from '../support/test-app.js';

describe('the demo page thumbnails', () => {
  let running: RunningApp;
  before(async () => {
    running = await startApp('sqlite');
  });
  after(() => running.close());

  test('an uploaded image gets a loaded thumbnail from its preview URL; a text file none', async (t) => {
    const browser = await launchChromium(t);
    if (!browser) return;
    try {
      const page = await browser.newPage();
      await page.goto(running.baseUrl + '/');
      await page.waitForSelector('body[data-ready="true"]');
      await page.setInputFiles('section[data-bundle="email-draft"] input[type=file]', [
        { name: 'photo.jpg', mimeType: 'image/jpeg', buffer: await testImage(400, 300).jpeg().toBuffer() },
        { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('no picture here') },
      ]);
      const thumbnails = page.locator('section[data-bundle="email-draft"] tbody img.thumbnail');
      await page.waitForFunction(() => {
        const image = document.querySelector<HTMLImageElement>('section[data-bundle="email-draft"] img.thumbnail');
        return image?.complete === true && image.naturalWidth > 0;
      });
      assert.equal(await thumbnails.count(), 1);
      assert.equal(await thumbnails.getAttribute('src'), '/attachments/email-draft/photo.jpg/preview?size=64');
      assert.deepEqual(
        await thumbnails.evaluate((image: HTMLImageElement) => [image.naturalWidth, image.naturalHeight]),
        [64, 48],
      );
    } finally {
      await browser.close();
    }
  });
});
