/// <reference lib="dom" />
// The demo page's login: a draft attached anonymously is still there after signing in, and on
// another browser signed in as the same user; signing out leaves an empty anonymous draft.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/browser.js';
import { startApp, type RunningApp } from '../support/test-app.js';

const draft = 'section[data-bundle="email-draft"]';
const names = (page: Page) => page.locator(`${draft} tbody td:first-child`).allTextContents();
const rowsAre = (page: Page, count: number) =>
  page.waitForFunction((n) => document.querySelectorAll('section[data-bundle="email-draft"] tbody tr').length === n, count);

describe('the demo login', () => {
  let running: RunningApp;
  let browser: Browser | undefined;
  before(async () => {
    running = await startApp('sqlite');
  });
  after(async () => {
    await browser?.close();
    await running.close();
  });

  async function open(): Promise<Page> {
    const page = await (await browser!.newContext()).newPage();
    await page.goto(running.baseUrl + '/');
    await page.waitForSelector('body[data-ready="true"]');
    return page;
  }

  test('a draft survives signing in, follows the user to another browser, and signing out starts afresh', async (t) => {
    browser = await launchChromium(t);
    if (!browser) return;
    const page = await open();
    assert.match((await page.locator('.account .who').textContent()) ?? '', /Not signed in/);
    await page.setInputFiles(`${draft} input[type=file]`, [
      { name: 'before-login.txt', mimeType: 'text/plain', buffer: Buffer.from('written anonymously') },
    ]);
    await rowsAre(page, 1);
    await page.click('.account .login');
    await page.waitForSelector('.account .logout:not([hidden])');
    assert.match((await page.locator('.account .who').textContent()) ?? '', /Signed in as demo/);
    await rowsAre(page, 1);
    assert.deepEqual(await names(page), ['before-login.txt']);
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    assert.deepEqual(await names(page), ['before-login.txt']);
    assert.ok(await page.locator('.account .logout').isVisible());

    const laptop = await open();
    assert.deepEqual(await names(laptop), []);
    await laptop.click('.account .login');
    await rowsAre(laptop, 1);
    assert.deepEqual(await names(laptop), ['before-login.txt']);

    await page.click('.account .logout');
    await page.waitForSelector('.account .login:not([hidden])');
    await rowsAre(page, 0);
  });
});
