/// <reference lib="dom" />
// The demo page's "resumable" switch in Chromium: with it on, files go through the module's tus
// routes (tus-js-client's browser bundle, served by the demo app), with a progress bar, and the
// list shows them when done; a dropped connection mid-upload is carried on from where it was.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page, Request } from 'playwright-core';
import { launchChromium } from '../support/browser.js';
import { startCountingProxy, type CountingProxy } from '../support/counting-proxy.js';
import { startApp, type RunningApp } from '../support/test-app.js';

const draft = (bundle: string) => `section[data-bundle="${bundle}"]`;
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Each request the page makes to the module's tus routes: method, path, and a PATCH's offset. */
function recordTus(page: Page): string[] {
  const seen: string[] = [];
  page.on('request', (request: Request) => {
    const { pathname } = new URL(request.url());
    if (!/^\/attachments\/[^/]+\/tus(\/|$)/.test(pathname)) return;
    const offset = request.headers()['upload-offset'];
    seen.push(`${request.method()} ${pathname}${request.method() === 'PATCH' ? ` @${offset}` : ''}`);
  });
  return seen;
}

describe("the demo page's resumable switch", () => {
  let running: RunningApp;
  let proxy: CountingProxy;
  let browser: Browser | undefined;
  let page: Page;
  before(async () => {
    running = await startApp('sqlite', { attachments: { limits: { fileSize: '5MB' } } });
    // The page is opened through a proxy that can drop its connection mid-upload.
    proxy = await startCountingProxy(running.baseUrl);
  });
  after(async () => {
    await browser?.close();
    await proxy.close();
    await running.close();
  });

  test('is off by default: uploads stay plain multipart POSTs', async (t) => {
    browser = await launchChromium(t);
    if (!browser) return;
    page = await (await browser.newContext({ acceptDownloads: true })).newPage();
    await page.goto(proxy.baseUrl + '/');
    await page.waitForSelector('body[data-ready="true"]');
    assert.equal(await page.isChecked('.resumable'), false);
    const tus = recordTus(page);
    await page.setInputFiles(`${draft('email-draft')} input[type=file]`, [
      { name: 'plain.txt', mimeType: 'text/plain', buffer: Buffer.from('plain upload') },
    ]);
    await page.waitForFunction(() => document.querySelectorAll('section[data-bundle="email-draft"] tbody tr').length === 1);
    assert.deepEqual(tus, []);
  });

  test('on: the file goes through tus with a progress bar, is listed with its size, and downloads the same bytes', async (t) => {
    if (!browser) return t.skip('no browser');
    await page.check('.resumable');
    const tus = recordTus(page);
    // Slow the upload link down so the progress can be watched.
    const cdp = await page.context().newCDPSession(page);
    const throttle = (uploadThroughput: number) =>
      cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput });
    await throttle(512 * 1024);
    const seen = page.waitForFunction(() => {
      const bar = document.querySelector<HTMLProgressElement>('section[data-bundle="email-draft"] .progress progress');
      return bar !== null && bar.value > 0 && bar.value < 100;
    });
    const bytes = randomBytes(1536 * 1024);
    await page.setInputFiles(`${draft('email-draft')} input[type=file]`, [
      { name: 'film.bin', mimeType: 'application/octet-stream', buffer: bytes },
    ]);
    await seen;
    await page.waitForFunction(() => document.querySelectorAll('section[data-bundle="email-draft"] tbody tr').length === 2);
    await throttle(-1);
    assert.equal(await page.locator(`${draft('email-draft')} .progress li`).count(), 0, 'the bar goes when the upload is done');
    assert.equal(tus[0], 'POST /attachments/email-draft/tus', 'the upload was created over tus');
    assert.ok(tus.some((request) => request.startsWith('PATCH /attachments/email-draft/tus/')));

    const row = page.locator(`${draft('email-draft')} tbody tr`, { hasText: 'film.bin' });
    assert.equal(await row.locator('td.size').textContent(), '1.5 MiB');
    const downloading = page.waitForEvent('download');
    await row.locator('a').click();
    const file = await downloading;
    assert.equal(file.suggestedFilename(), 'film.bin');
    assert.equal(sha256(await readFile(await file.path())), sha256(bytes));
  });

  test('on: a connection dropped mid-upload is resumed from the offset the server reports', async (t) => {
    if (!browser) return t.skip('no browser');
    const tus = recordTus(page);
    const bytes = randomBytes(4 * 1024 * 1024);
    const cut = proxy.cutAfter(2 * 1024 * 1024);
    await page.setInputFiles(`${draft('ticket-draft')} input[type=file]`, [
      { name: 'tunnel.bin', mimeType: 'application/octet-stream', buffer: bytes },
    ]);
    await cut;
    await page.waitForFunction(() => document.querySelectorAll('section[data-bundle="ticket-draft"] tbody tr').length === 1);
    assert.equal(await page.locator(`${draft('ticket-draft')} .message`).isHidden(), true, 'no error shown');
    assert.ok(
      tus.some((request) => request.startsWith('HEAD /attachments/ticket-draft/tus/')),
      `tus-js-client asked the server for its offset: ${tus.join(', ')}`,
    );
    assert.equal(tus.filter((request) => request.startsWith('POST')).length, 1, 'one upload, resumed, not a new one');
    const lastPatch = tus.filter((request) => request.startsWith('PATCH')).at(-1) ?? '';
    assert.ok(Number(lastPatch.split('@')[1]) > 0, `the last PATCH carried on from the kept bytes: ${tus.join(', ')}`);
    t.diagnostic(tus.join(', '));
    const listed = await page.evaluate(
      async () =>
        (await (await fetch('/attachments/ticket-draft')).json()) as Array<{ name: string; size: number; sha256: string }>,
    );
    assert.deepEqual(
      listed.map(({ name, size, sha256 }) => ({ name, size, sha256 })),
      [{ name: 'tunnel.bin', size: bytes.length, sha256: sha256(bytes) }],
    );
  });
});
