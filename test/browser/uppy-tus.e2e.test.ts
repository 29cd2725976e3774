/// <reference lib="dom" />
// Uppy's Tus plugin (@uppy/tus, from the uppy package's own bundle, served locally) in Chromium
// against the module's tus routes, with no server-side glue: several files, some in several
// PATCHes, into one bundle; the page reads the stored attachment from the final response.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/browser.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import type { AttachmentBody } from '../support/visitor.js';

const modules = resolve(import.meta.dirname, '../../../node_modules');
const CHUNK = 256 * 1024;

// The page lists its bundle first (as the README advises), so the parallel uploads share a
// session, and keeps the stored name of each file from the `Attachment` header of its last
// response (Uppy hands the XMLHttpRequest over in `upload-success`).
const page = `<!doctype html><meta charset="utf-8"><title>Uppy tus</title>
  <script type="module">
    import { Uppy, Tus } from '/vendor/uppy.min.mjs';
    await fetch('/attachments/uppy-tus');
    window.stored = {};
    window.uppy = new Uppy()
      .use(Tus, { endpoint: new URL('/attachments/uppy-tus/tus', location.href).href, limit: 3, chunkSize: ${CHUNK}, retryDelays: null })
      .on('upload-success', (file, response) => {
        window.stored[file.name] = JSON.parse(response.body.xhr.getResponseHeader('Attachment')).name;
      });
    window.ready = true;
  </script>`;

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('Uppy with its Tus plugin against the module', () => {
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
    const tab = await (await browser!.newContext()).newPage();
    await tab.route(`${running.baseUrl}/{vendor,widgets}/**`, async (route) => {
      const pathname = new URL(route.request().url()).pathname;
      if (pathname === '/vendor/uppy.min.mjs')
        return route.fulfill({ body: await readFile(`${modules}/uppy/dist/uppy.min.mjs`), contentType: 'text/javascript' });
      if (pathname === '/widgets/uppy-tus.html') return route.fulfill({ body: page, contentType: 'text/html' });
      return route.fulfill({ status: 404 });
    });
    await tab.goto(`${running.baseUrl}/widgets/uppy-tus.html`);
    await tab.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
    return tab;
  }

  test('uploads several files, one in several PATCHes, into one bundle; bytes and stored names check out', async (t) => {
    browser = await launchChromium(t);
    if (!browser) return;
    const tab = await open();
    // A Windows path in decomposed Unicode (as macOS spells it): stored as its last segment, in NFC.
    const sentName = 'C:\\scans\\re\u0301sume\u0301.pdf';
    const files: Array<{ name: string; type: string; bytes: Buffer }> = [
      { name: 'notes.txt', type: 'text/plain', bytes: Buffer.from('uppy over tus') },
      { name: 'photo.bin', type: 'application/octet-stream', bytes: randomBytes(3 * CHUNK + 1000) },
      { name: sentName, type: 'application/pdf', bytes: Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(40_000)]) },
    ];
    const patches: string[] = [];
    tab.on('request', (request) => {
      if (request.method() === 'PATCH') patches.push(request.url());
    });

    const result = await tab.evaluate(
      async (files) => {
        const uppy = (
          window as unknown as {
            uppy: { addFile(file: object): string; upload(): Promise<{ successful: unknown[]; failed: unknown[] }> };
          }
        ).uppy;
        for (const file of files) {
          const data = new Blob([Uint8Array.from(atob(file.base64), (character) => character.charCodeAt(0))], {
            type: file.type,
          });
          uppy.addFile({ name: file.name, type: file.type, data });
        }
        const outcome = await uppy.upload();
        return {
          successful: outcome.successful.length,
          failed: outcome.failed.length,
          stored: (window as unknown as { stored: Record<string, string> }).stored,
        };
      },
      files.map((file) => ({ name: file.name, type: file.type, base64: file.bytes.toString('base64') })),
    );

    assert.deepEqual({ successful: result.successful, failed: result.failed }, { successful: 3, failed: 0 });
    assert.deepEqual(
      result.stored,
      { 'notes.txt': 'notes.txt', 'photo.bin': 'photo.bin', [sentName]: 'résumé.pdf' },
      'the page read each stored name from the Attachment header',
    );
    assert.equal(new Set(patches).size, 3, 'one upload URL per file');
    assert.ok(patches.length >= 3 + 3, `photo.bin went in several PATCHes (${patches.length} PATCHes in all)`);

    const listed = await tab.evaluate(async () => (await (await fetch('/attachments/uppy-tus')).json()) as AttachmentBody[]);
    assert.deepEqual(
      listed.map(({ name, mimetype, size, sha256 }) => ({ name, mimetype, size, sha256 })),
      [
        { name: 'notes.txt', mimetype: 'text/plain', size: files[0]!.bytes.length, sha256: sha256(files[0]!.bytes) },
        {
          name: 'photo.bin',
          mimetype: 'application/octet-stream',
          size: files[1]!.bytes.length,
          sha256: sha256(files[1]!.bytes),
        },
        { name: 'résumé.pdf', mimetype: 'application/pdf', size: files[2]!.bytes.length, sha256: sha256(files[2]!.bytes) },
      ],
    );
    const downloaded = await tab.evaluate(
      async (urls) => {
        const hex = (digest: ArrayBuffer) =>
          [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, '0')).join('');
        return Promise.all(
          urls.map(async (url) => hex(await crypto.subtle.digest('SHA-256', await (await fetch(url)).arrayBuffer()))),
        );
      },
      listed.map((attachment) => attachment.url),
    );
    assert.deepEqual(
      downloaded,
      files.map((file) => sha256(file.bytes)),
      'the downloads are the uploaded bytes',
    );
  });
});
