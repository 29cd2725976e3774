/// <reference lib="dom" />
// A front end (SPA) on another origin than the API, in Chromium: same-site on another port with
// lax cookies, cross-site over HTTPS with `SameSite=None; Secure`, and bearer tokens with no
// cookie at all. Pages of untrusted origins can neither read (CORS) nor write (the cross-site
// guard): the server stores nothing for them.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { DataSource } from 'typeorm';
import { launchChromium } from '../support/browser.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { jwtOwnedApp, signToken } from '../support/jwt-auth.js';
import { selfSignedCertificate, startSpaServer, type Certificate, type SpaServer } from '../support/spa-server.js';
import { startApp, type RunningApp } from '../support/test-app.js';

type Outcome = { status: number; body: string } | { blocked: string };

interface CallOptions {
  method?: string;
  credentials?: RequestCredentials;
  headers?: Record<string, string>;
  mode?: RequestMode;
  file?: [name: string, content: string];
}

/** A fetch made by the page, as its own script would; a CORS refusal is `{ blocked }`. */
function call(page: Page, url: string, options: CallOptions = {}): Promise<Outcome> {
  return page.evaluate(
    async ({ url, options }) => {
      let body: FormData | undefined;
      if (options.file) {
        body = new FormData();
        body.append('file', new Blob([options.file[1]]), options.file[0]);
      }
      try {
        const response = await fetch(url, {
          method: options.method ?? 'GET',
          credentials: options.credentials ?? 'include',
          headers: options.headers ?? {},
          mode: options.mode ?? 'cors',
          body,
        });
        return { status: response.status, body: response.type === 'opaque' ? '' : await response.text() };
      } catch (error) {
        return { blocked: String(error) };
      }
    },
    { url, options },
  );
}

/** An upload with XMLHttpRequest, as widgets do for their progress bars. */
function uploadWithProgress(
  page: Page,
  url: string,
  options: { withCredentials: boolean; headers?: Record<string, string>; size: number },
): Promise<{ status: number; body: string; progress: Array<[loaded: number, total: number]> }> {
  return page.evaluate(
    ({ url, options }) =>
      new Promise((resolve) => {
        const request = new XMLHttpRequest();
        const progress: Array<[number, number]> = [];
        request.open('POST', url);
        request.withCredentials = options.withCredentials;
        for (const [name, value] of Object.entries(options.headers ?? {})) request.setRequestHeader(name, value);
        request.upload.addEventListener('progress', (event) => {
          if (event.lengthComputable) progress.push([event.loaded, event.total]);
        });
        request.addEventListener('loadend', () => resolve({ status: request.status, body: request.responseText, progress }));
        const form = new FormData();
        form.append('file', new Blob(['y'.repeat(options.size)]), 'big.txt');
        request.send(form);
      }),
    { url, options },
  );
}

const tusBundle = resolve(import.meta.dirname, '../../../node_modules/tus-js-client/dist/tus.min.js');

/**
 * A resumable upload with tus-js-client (its browser bundle, put into the page), in two PATCHes:
 * it works only if the API lets the page read `Location`, `Upload-Offset` and `Attachment`.
 * Resolves the stored name from the `Attachment` header, or the client's error.
 */
async function tusUpload(
  page: Page,
  endpoint: string,
  options: { withCredentials: boolean; headers?: Record<string, string> },
): Promise<{ stored: string } | { error: string }> {
  if (!(await page.evaluate(() => 'tus' in window))) await page.addScriptTag({ content: await readFile(tusBundle, 'utf8') });
  return page.evaluate(
    ({ endpoint, options }) =>
      new Promise((resolve) => {
        type Response = { getHeader(name: string): string | undefined };
        type Request = { getUnderlyingObject(): XMLHttpRequest };
        const tus = (window as unknown as { tus: { Upload: new (file: Blob, options: object) => { start(): void } } }).tus;
        new tus.Upload(new Blob(['z'.repeat(96 * 1024)]), {
          endpoint,
          metadata: { filename: 'resumable.txt' },
          chunkSize: 64 * 1024,
          retryDelays: null,
          headers: options.headers ?? {},
          onBeforeRequest: (request: Request) => {
            request.getUnderlyingObject().withCredentials = options.withCredentials;
          },
          onSuccess: ({ lastResponse }: { lastResponse: Response }) =>
            resolve({ stored: (JSON.parse(lastResponse.getHeader('Attachment') ?? 'null') as { name: string }).name }),
          onError: (error: Error) => resolve({ error: String(error) }),
        }).start();
      }),
    { endpoint, options },
  );
}

/** Rows in the tus uploads table, finished or not: a refused creation leaves none. */
async function uploadCount(running: RunningApp): Promise<number> {
  const [row] = await running.app
    .get(DataSource)
    .query<Array<{ n: string | number }>>('SELECT COUNT(*) AS n FROM session_attachment_uploads');
  return Number(row?.n);
}

const names = (outcome: Outcome): string[] => {
  assert.ok('status' in outcome, `not blocked: ${JSON.stringify(outcome)}`);
  assert.equal(outcome.status, 200);
  return (JSON.parse(outcome.body) as Array<{ name: string }>).map((attachment) => attachment.name);
};

const status = (outcome: Outcome): number | 'blocked' => ('status' in outcome ? outcome.status : 'blocked');

let browser: Browser | undefined;
let launched = false;
async function chromium(t: TestContext): Promise<Browser | undefined> {
  if (!launched) {
    launched = true;
    browser = await launchChromium(t);
  } else if (!browser) t.skip('no browser');
  return browser;
}
after(() => browser?.close());

async function openPage(context: BrowserContext, origin: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${origin}/`);
  return page;
}

/** Everything a credentialed front end does: upload with progress, list, download, delete. */
async function roundTrip(page: Page, api: string, running: RunningApp): Promise<void> {
  const bundle = `${api}/attachments/spa`;
  assert.deepEqual(names(await call(page, bundle)), []);
  const big = await uploadWithProgress(page, bundle, { withCredentials: true, size: 256 * 1024 });
  assert.equal(big.status, 201, big.body);
  const last = big.progress.at(-1);
  assert.ok(
    last && last[0] === last[1] && last[1] > 256 * 1024,
    `upload progress reached the end: ${JSON.stringify(big.progress)}`,
  );
  assert.equal(status(await call(page, bundle, { method: 'POST', file: ['a.txt', 'from the spa'] })), 201);
  assert.deepEqual(names(await call(page, bundle)), ['a.txt', 'big.txt']);
  assert.deepEqual(await call(page, `${bundle}/a.txt`), { status: 200, body: 'from the spa' });
  assert.equal(status(await call(page, `${bundle}/a.txt`, { method: 'DELETE' })), 204);
  assert.equal(status(await call(page, `${bundle}/big.txt/delete`, { method: 'POST' })), 204);
  assert.deepEqual(names(await call(page, bundle)), []);
  assert.deepEqual(await tusUpload(page, `${bundle}/tus`, { withCredentials: true }), { stored: 'resumable.txt' });
  assert.deepEqual(names(await call(page, bundle)), ['resumable.txt']);
  assert.equal(status(await call(page, `${bundle}/resumable.txt`, { method: 'DELETE' })), 204);
  assert.equal(await running.rowCount(), 0);
}

/** What a page of an untrusted origin tries against the visitor's files; none of it may work. */
async function attack(page: Page, api: string, running: RunningApp): Promise<void> {
  const rows = await running.rowCount();
  const blobs = await running.blobCount();
  const uploads = await uploadCount(running);
  const bundle = `${api}/attachments/spa`;
  assert.equal(status(await call(page, bundle)), 'blocked', 'CORS keeps the list from the page');
  assert.equal(status(await call(page, `${bundle}/secret.txt`)), 'blocked', 'and the file');
  // Simple requests (no preflight) reach the server; the cross-site guard refuses them.
  await call(page, bundle, { method: 'POST', mode: 'no-cors', file: ['planted.txt', 'planted'] });
  await call(page, `${bundle}/secret.txt/delete`, { method: 'POST', mode: 'no-cors' });
  await call(page, `${bundle}/delete`, { method: 'POST', mode: 'no-cors' });
  assert.equal(status(await call(page, `${bundle}/secret.txt`, { method: 'DELETE' })), 'blocked');
  const xhr = await uploadWithProgress(page, bundle, { withCredentials: true, size: 1024 });
  assert.equal(xhr.status, 0, 'the preflight of an upload with progress is refused');
  assert.ok('error' in (await tusUpload(page, `${bundle}/tus`, { withCredentials: true })), 'and that of a tus upload');
  assert.equal(await uploadCount(running), uploads, 'no tus upload was created');
  assert.equal(await running.rowCount(), rows, 'nothing stored, nothing removed');
  assert.equal(await running.blobCount(), blobs);
}

for (const kind of DATABASE_KINDS) {
  describe(`an SPA on another port of the same site, with cookies (${kind})`, () => {
    let spa: SpaServer;
    let sameSiteStranger: SpaServer;
    let crossSiteStranger: SpaServer;
    let running: RunningApp;
    before(async () => {
      spa = await startSpaServer();
      sameSiteStranger = await startSpaServer();
      crossSiteStranger = await startSpaServer({ host: 'localhost' });
      running = await startApp(kind, {
        cors: { origin: [spa.origin], credentials: true },
        attachments: { trustedOrigins: [spa.origin] },
      });
    });
    after(async () => {
      await running.close();
      await Promise.all([spa.close(), sameSiteStranger.close(), crossSiteStranger.close()]);
    });

    test('upload with progress, list, download and delete work with credentials', async (t) => {
      const chrome = await chromium(t);
      if (!chrome) return;
      const context = await chrome.newContext();
      const page = await openPage(context, spa.origin);
      await roundTrip(page, running.baseUrl, running);
      const [cookie] = await context.cookies(running.baseUrl);
      assert.equal(cookie?.sameSite, 'Lax');
      await context.close();
    });

    test('pages of an untrusted origin, same-site (the cookie goes along) or cross-site, can do none of it', async (t) => {
      const chrome = await chromium(t);
      if (!chrome) return;
      const context = await chrome.newContext();
      const page = await openPage(context, spa.origin);
      assert.equal(
        status(await call(page, `${running.baseUrl}/attachments/spa`, { method: 'POST', file: ['secret.txt', 's'] })),
        201,
      );
      for (const stranger of [sameSiteStranger, crossSiteStranger]) {
        await attack(await openPage(context, stranger.origin), running.baseUrl, running);
      }
      assert.deepEqual(names(await call(page, `${running.baseUrl}/attachments/spa`)), ['secret.txt']);
      await context.close();
    });
  });

  describe(`an SPA on another site over HTTPS, with SameSite=None; Secure cookies (${kind})`, () => {
    let certificate: Certificate;
    let spa: SpaServer;
    let stranger: SpaServer;
    let running: RunningApp;
    before(async () => {
      certificate = await selfSignedCertificate();
      // localhost and 127.0.0.1 are different sites.
      spa = await startSpaServer({ host: 'localhost', https: certificate });
      stranger = await startSpaServer({ host: 'localhost', https: certificate });
      running = await startApp(kind, {
        https: certificate,
        sameSite: 'none',
        cors: { origin: [spa.origin], credentials: true },
        attachments: { trustedOrigins: [spa.origin] },
      });
    });
    after(async () => {
      await running.close();
      await Promise.all([spa.close(), stranger.close()]);
    });

    test('the trusted site works with credentials, and another site (which gets the cookie too) can do none of it', async (t) => {
      const chrome = await chromium(t);
      if (!chrome) return;
      const context = await chrome.newContext({ ignoreHTTPSErrors: true });
      const page = await openPage(context, spa.origin);
      await roundTrip(page, running.baseUrl, running);
      const [cookie] = await context.cookies(running.baseUrl);
      assert.equal(cookie?.sameSite, 'None');
      assert.equal(cookie?.secure, true);
      assert.equal(
        status(await call(page, `${running.baseUrl}/attachments/spa`, { method: 'POST', file: ['secret.txt', 's'] })),
        201,
      );
      await attack(await openPage(context, stranger.origin), running.baseUrl, running);
      assert.deepEqual(names(await call(page, `${running.baseUrl}/attachments/spa`)), ['secret.txt']);
      await context.close();
    });
  });

  describe(`an SPA with bearer tokens and no cookie at all (${kind})`, () => {
    let spa: SpaServer;
    let running: RunningApp;
    before(async () => {
      spa = await startSpaServer({ host: 'localhost' });
      running = await startApp(
        kind,
        jwtOwnedApp({ cors: { origin: [spa.origin] }, attachments: { trustedOrigins: [spa.origin] } }),
      );
    });
    after(async () => {
      await running.close();
      await spa.close();
    });

    test('upload with progress, list, download and delete with an Authorization header', async (t) => {
      const chrome = await chromium(t);
      if (!chrome) return;
      const context = await chrome.newContext();
      const page = await openPage(context, spa.origin);
      const headers = { authorization: `Bearer ${await signToken({ sub: 'spa' })}` };
      const bundle = `${running.baseUrl}/attachments/spa`;
      const options = { credentials: 'omit' as const, headers };
      assert.equal(status(await call(page, bundle, { credentials: 'omit' })), 401);
      const big = await uploadWithProgress(page, bundle, { withCredentials: false, headers, size: 128 * 1024 });
      assert.equal(big.status, 201, big.body);
      assert.ok(big.progress.length > 0);
      assert.equal(status(await call(page, bundle, { ...options, method: 'POST', file: ['a.txt', 'token'] })), 201);
      assert.deepEqual(names(await call(page, bundle, options)), ['a.txt', 'big.txt']);
      assert.deepEqual(await call(page, `${bundle}/a.txt`, options), { status: 200, body: 'token' });
      const [owner] = await running.app
        .get(DataSource)
        .query<Array<{ session_key: string }>>('SELECT DISTINCT session_key FROM session_attachments');
      assert.equal(owner?.session_key, 'user:spa');
      assert.equal(status(await call(page, `${bundle}/a.txt`, { ...options, method: 'DELETE' })), 204);
      assert.deepEqual(names(await call(page, bundle, options)), ['big.txt']);
      assert.deepEqual(await tusUpload(page, `${bundle}/tus`, { withCredentials: false, headers }), { stored: 'resumable.txt' });
      assert.deepEqual(names(await call(page, bundle, options)), ['big.txt', 'resumable.txt']);
      assert.deepEqual(await context.cookies(), [], 'no cookie was ever set');
      await context.close();
    });
  });
}
