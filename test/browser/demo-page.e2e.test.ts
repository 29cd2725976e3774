/// <reference lib="dom" />
// The demo page in a real browser (Debian's Chromium through playwright-core).
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/browser.js';
import { startApp, type RunningApp } from '../support/test-app.js';

const artifacts = resolve(import.meta.dirname, '../../../test-artifacts');
const draft = (bundle: string) => `section[data-bundle="${bundle}"]`;
const names = (page: Page, bundle: string) => page.locator(`${draft(bundle)} tbody td:first-child`).allTextContents();

describe('the demo page', () => {
  let running: RunningApp;
  let browser: Browser | undefined;
  let page: Page;
  before(async () => {
    running = await startApp('sqlite', { attachments: { limits: { fileSize: '1MB' } } });
  });
  after(async () => {
    await browser?.close();
    await running.close();
  });

  test('opens with two empty drafts', async (t) => {
    browser = await launchChromium(t);
    if (!browser) return;
    page = await (await browser.newContext({ acceptDownloads: true })).newPage();
    await page.goto(running.baseUrl + '/');
    await page.waitForSelector('body[data-ready="true"]');
    assert.equal(await page.locator('section.draft').count(), 2);
    assert.deepEqual(await names(page, 'email-draft'), []);
    assert.ok(await page.locator(`${draft('email-draft')} .empty`).isVisible());
  });

  test('uploads through the file picker and lists name, type, size and time', async (t) => {
    if (!browser) return t.skip('no browser');
    await page.setInputFiles(`${draft('email-draft')} input[type=file]`, [
      { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('picked notes') },
      { name: 'résumé.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4 cv') },
    ]);
    await page.waitForFunction(() => document.querySelectorAll('section[data-bundle="email-draft"] tbody tr').length === 2);
    assert.deepEqual(await names(page, 'email-draft'), ['notes.txt', 'résumé.pdf']);
    const firstRow = await page
      .locator(`${draft('email-draft')} tbody tr`)
      .first()
      .locator('td')
      .allTextContents();
    assert.equal(firstRow[1], 'text/plain');
    assert.equal(firstRow[2], '12 B');
    assert.ok(
      await page
        .locator(`${draft('email-draft')} tbody tr time`)
        .first()
        .getAttribute('datetime'),
    );
  });

  test('uploads through a drop, into the other draft only', async (t) => {
    if (!browser) return t.skip('no browser');
    const dataTransfer = await page.evaluateHandle(() => {
      const transfer = new DataTransfer();
      transfer.items.add(new File(['dropped bytes'], 'dropped.txt', { type: 'text/plain' }));
      return transfer;
    });
    await page.dispatchEvent(`${draft('ticket-draft')} .drop`, 'drop', { dataTransfer });
    await page.waitForFunction(() => document.querySelectorAll('section[data-bundle="ticket-draft"] tbody tr').length === 1);
    assert.deepEqual(await names(page, 'ticket-draft'), ['dropped.txt']);
    assert.deepEqual(await names(page, 'email-draft'), ['notes.txt', 'résumé.pdf']);
  });

  test('shows a progress bar per file while it uploads', async (t) => {
    if (!browser) return t.skip('no browser');
    // Slow the upload link down so the progress can be watched.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: 256 * 1024,
    });
    const seen = page.waitForFunction(() => {
      const bar = document.querySelector<HTMLProgressElement>('section[data-bundle="ticket-draft"] .progress progress');
      return bar !== null && bar.value > 0 && bar.value < 100;
    });
    await page.setInputFiles(`${draft('ticket-draft')} input[type=file]`, [
      { name: 'slow.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(900 * 1024, 7) },
    ]);
    await seen;
    await page.waitForFunction(() => document.querySelectorAll('section[data-bundle="ticket-draft"] tbody tr').length === 2);
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: -1,
    });
    assert.equal(await page.locator(`${draft('ticket-draft')} .progress li`).count(), 0, 'the bar goes when the upload is done');
  });

  test('a download link gives the same bytes', async (t) => {
    if (!browser) return t.skip('no browser');
    const downloading = page.waitForEvent('download');
    await page.click(`${draft('email-draft')} a:text("notes.txt")`);
    const file = await downloading;
    assert.equal(file.suggestedFilename(), 'notes.txt');
    assert.equal((await readFile(await file.path())).toString(), 'picked notes');
  });

  test('uploading the same name replaces the file', async (t) => {
    if (!browser) return t.skip('no browser');
    await page.setInputFiles(`${draft('email-draft')} input[type=file]`, [
      { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('rewritten notes, longer') },
    ]);
    await page.waitForFunction(
      () => document.querySelector('section[data-bundle="email-draft"] tbody tr td.size')?.textContent === '23 B',
    );
    assert.deepEqual(await names(page, 'email-draft'), ['notes.txt', 'résumé.pdf']);
  });

  test('a rejected file shows the API message', async (t) => {
    if (!browser) return t.skip('no browser');
    await page.setInputFiles(`${draft('email-draft')} input[type=file]`, [
      { name: 'huge.txt', mimeType: 'text/plain', buffer: Buffer.alloc(2 * 1024 * 1024, 65) },
    ]);
    const message = page.locator(`${draft('email-draft')} .message`);
    await message.waitFor({ state: 'visible' });
    assert.match((await message.textContent()) ?? '', /huge\.txt: The file is larger than allowed/);
    assert.deepEqual(await names(page, 'email-draft'), ['notes.txt', 'résumé.pdf']);
  });

  test('a second browser context (another visitor) sees nothing of the first', async (t) => {
    if (!browser) return t.skip('no browser');
    const other = await (await browser.newContext()).newPage();
    await other.goto(running.baseUrl + '/');
    await other.waitForSelector('body[data-ready="true"]');
    assert.deepEqual(await names(other, 'email-draft'), []);
    assert.deepEqual(await names(other, 'ticket-draft'), []);
    await other.context().close();
  });

  test('the page after uploads, as a screenshot artifact', async (t) => {
    if (!browser) return t.skip('no browser');
    await mkdir(artifacts, { recursive: true });
    const path = join(artifacts, 'demo-page.png');
    await page.setViewportSize({ width: 1280, height: 720 });
    await page.screenshot({ path, fullPage: true });
    assert.ok((await readFile(path)).length > 10_000);
  });

  test('delete removes one file; clear empties the draft', async (t) => {
    if (!browser) return t.skip('no browser');
    await page.click(`${draft('email-draft')} button[aria-label="Delete notes.txt"]`);
    await page.waitForFunction(() => document.querySelectorAll('section[data-bundle="email-draft"] tbody tr').length === 1);
    assert.deepEqual(await names(page, 'email-draft'), ['résumé.pdf']);
    await page.click(`${draft('ticket-draft')} button.clear`);
    await page.waitForFunction(() => document.querySelectorAll('section[data-bundle="ticket-draft"] tbody tr').length === 0);
    assert.deepEqual(await names(page, 'email-draft'), ['résumé.pdf']);
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    assert.deepEqual(await names(page, 'ticket-draft'), []);
    assert.deepEqual(await names(page, 'email-draft'), ['résumé.pdf']);
  });
});
