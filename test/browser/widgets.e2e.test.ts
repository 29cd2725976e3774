/// <reference lib="dom" />
// The upload widgets people use, the real libraries from npm served locally, against the
// module with no server-side glue: Uppy's XHRUpload and FilePond's process/revert protocol.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/browser.js';
import { startApp, type RunningApp } from '../support/test-app.js';

const modules = resolve(import.meta.dirname, '../../../node_modules');
const vendor: Record<string, [file: string, type: string]> = {
  '/vendor/uppy.min.mjs': [`${modules}/uppy/dist/uppy.min.mjs`, 'text/javascript'],
  '/vendor/filepond.esm.min.js': [`${modules}/filepond/dist/filepond.esm.min.js`, 'text/javascript'],
  '/vendor/filepond.min.css': [`${modules}/filepond/dist/filepond.min.css`, 'text/css'],
};

// Each page lists its bundle first (as the README advises), so parallel uploads share a session.
const pages: Record<string, string> = {
  '/widgets/uppy.html': `<!doctype html><meta charset="utf-8"><title>Uppy</title>
    <script type="module">
      import { Uppy, XHRUpload } from '/vendor/uppy.min.mjs';
      await fetch('/attachments/uppy-draft');
      window.uppy = new Uppy().use(XHRUpload, { endpoint: '/attachments/uppy-draft', limit: 5 });
      window.ready = true;
    </script>`,
  '/widgets/filepond.html': `<!doctype html><meta charset="utf-8"><title>FilePond</title>
    <link rel="stylesheet" href="/vendor/filepond.min.css">
    <input type="file" id="pond" multiple>
    <script type="module">
      import * as FilePond from '/vendor/filepond.esm.min.js';
      await fetch('/attachments/pond-draft');
      window.pond = FilePond.create(document.getElementById('pond'), {
        allowMultiple: true,
        server: {
          process: { url: '/attachments/pond-draft', method: 'POST', onload: (body) => JSON.parse(body)[0].name },
          revert: (name, load, error) =>
            fetch('/attachments/pond-draft/' + encodeURIComponent(name), { method: 'DELETE' }).then((r) => (r.ok ? load() : error('not deleted'))),
        },
      });
      window.ready = true;
    </script>`,
};

async function listNames(page: Page, bundle: string): Promise<string[]> {
  return page.evaluate(
    async (path) => ((await (await fetch(path)).json()) as Array<{ name: string }>).map((a) => a.name),
    `/attachments/${bundle}`,
  );
}

describe('upload widgets against the module', () => {
  let running: RunningApp;
  let browser: Browser | undefined;
  before(async () => {
    running = await startApp('sqlite');
  });
  after(async () => {
    await browser?.close();
    await running.close();
  });

  async function open(path: string): Promise<Page> {
    const page = await (await browser!.newContext()).newPage();
    await page.route(`${running.baseUrl}/{vendor,widgets}/**`, async (route) => {
      const pathname = new URL(route.request().url()).pathname;
      const asset = vendor[pathname];
      if (asset) return route.fulfill({ body: await readFile(asset[0]), contentType: asset[1] });
      const html = pages[pathname];
      return html ? route.fulfill({ body: html, contentType: 'text/html' }) : route.fulfill({ status: 404 });
    });
    await page.goto(running.baseUrl + path);
    await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
    return page;
  }

  test('Uppy (@uppy/xhr-upload, default field names, parallel uploads) stores every file in one bundle', async (t) => {
    browser = await launchChromium(t);
    if (!browser) return;
    const page = await open('/widgets/uppy.html');
    const result = await page.evaluate(async () => {
      const uppy = (
        window as unknown as {
          uppy: { addFile(file: object): string; upload(): Promise<{ successful: unknown[]; failed: unknown[] }> };
        }
      ).uppy;
      for (const name of ['one.txt', 'two.txt', 'three.txt'])
        uppy.addFile({ name, type: 'text/plain', data: new Blob([`uppy ${name}`]) });
      const outcome = await uppy.upload();
      return { successful: outcome.successful.length, failed: outcome.failed.length };
    });
    assert.deepEqual(result, { successful: 3, failed: 0 });
    assert.deepEqual(await listNames(page, 'uppy-draft'), ['one.txt', 'three.txt', 'two.txt']);
    const text = await page.evaluate(async () => (await fetch('/attachments/uppy-draft/two.txt')).text());
    assert.equal(text, 'uppy two.txt');
  });

  test('FilePond (server.process with its "filepond" metadata field, then server.revert)', async (t) => {
    if (!browser) return t.skip('no browser');
    const page = await open('/widgets/filepond.html');
    await page.evaluate(async () => {
      type Pond = { addFile(file: File): Promise<unknown>; on(event: string, listener: () => void): void };
      const pond = (window as unknown as { pond: Pond }).pond;
      const processed = new Promise<void>((done) => pond.on('processfiles', done));
      await pond.addFile(new File(['pond a'], 'a.txt', { type: 'text/plain' }));
      await pond.addFile(new File(['pond b'], 'b.txt', { type: 'text/plain' }));
      await processed;
    });
    await page.waitForFunction(async () => {
      const list = (await (await fetch('/attachments/pond-draft')).json()) as unknown[];
      return list.length === 2;
    });
    assert.deepEqual(await listNames(page, 'pond-draft'), ['a.txt', 'b.txt']);
    // Reverting (the × on a processed file) deletes it on the server.
    await page.evaluate(async () => {
      type PondFile = { id: string; filename: string; serverId: string };
      const pond = (
        window as unknown as { pond: { getFiles(): PondFile[]; removeFile(id: string, options: { revert: boolean }): void } }
      ).pond;
      const file = pond.getFiles().find((candidate) => candidate.filename === 'a.txt')!;
      if (file.serverId !== 'a.txt') throw new Error(`serverId is ${file.serverId}`);
      pond.removeFile(file.id, { revert: true });
    });
    await page.waitForFunction(async () => ((await (await fetch('/attachments/pond-draft')).json()) as unknown[]).length === 1);
    assert.deepEqual(await listNames(page, 'pond-draft'), ['b.txt']);
  });
});
