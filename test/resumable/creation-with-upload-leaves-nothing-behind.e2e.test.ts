// A creation-with-upload (a POST carrying the first bytes) whose body is refused or cut off
// never answers with the upload's URL: nobody can resume that upload, so it must not stay behind
// holding the session's quota (its declared length) and its bytes until it expires.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DataSource } from 'typeorm';
import { DATABASE_KINDS } from '../support/databases.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { uploadRowsIn } from '../support/tus-requests.js';
import { createUpload, TUS_RESUMABLE, uploadMetadata } from '../support/tus.js';
import { Visitor } from '../support/visitor.js';
import { waitFor } from '../support/wait-for.js';

const QUOTA = 100_000;

/** Bytes in the storage's blobs: an in-place upload's object grows there as its bytes arrive. */
async function storedBytes(running: RunningApp): Promise<number> {
  const folder = join(running.attachmentsDirectory, 'blobs');
  const entries = await readdir(folder, { recursive: true, withFileTypes: true }).catch(() => []);
  const sizes = await Promise.all(
    entries.filter((entry) => entry.isFile()).map((entry) => stat(join(entry.parentPath, entry.name)).then((file) => file.size)),
  );
  return sizes.reduce((total, size) => total + size, 0);
}

for (const kind of DATABASE_KINDS) {
  describe(`a creation-with-upload that fails on ${kind}`, () => {
    let running: RunningApp;
    let uploadsIn: (bundle: string) => Promise<number>;
    before(async () => {
      running = await startApp(kind, { attachments: { inlineMaxSize: 0, limits: { bytesPerSession: QUOTA } } });
      const dataSource = running.app.get(DataSource);
      uploadsIn = (bundle) => uploadRowsIn(dataSource, bundle);
    });
    after(() => running.close());

    test('a body past Upload-Length is 413 and leaves no upload: the quota is free for the next one', async () => {
      const visitor = new Visitor(running.baseUrl);
      const blobs = await running.blobCount();
      const refused = await createUpload(visitor, 'too-long', 'a.bin', QUOTA, { body: randomBytes(QUOTA + 1) });
      assert.equal(refused.response.status, 413);
      assert.equal(((await refused.response.json()) as { code: string }).code, 'upload_length_exceeded');
      assert.equal(refused.location, '', 'the answer names no upload');
      assert.equal(await uploadsIn('too-long'), 0, 'no upload nobody can reach');
      assert.equal(await running.blobCount(), blobs, 'and no bytes');
      const next = await createUpload(visitor, 'too-long', 'b.bin', QUOTA);
      assert.equal(next.response.status, 201, await next.response.text());
    });

    test('a body cut off leaves no upload: the quota is free for the next one', async () => {
      const visitor = new Visitor(running.baseUrl);
      await visitor.json('/attachments/cut');
      const before = await storedBytes(running);
      const { hostname, port } = new URL(running.baseUrl);
      const request = httpRequest({
        hostname,
        port,
        path: '/attachments/cut/tus',
        method: 'POST',
        headers: {
          ...TUS_RESUMABLE,
          cookie: visitor.cookie!,
          'upload-length': String(QUOTA),
          'upload-metadata': uploadMetadata({ filename: 'video.mp4' }),
          'content-type': 'application/offset+octet-stream',
          'content-length': String(QUOTA),
        },
      });
      request.on('error', () => undefined);
      request.write(randomBytes(30_000));
      assert.ok(await waitFor(async () => (await storedBytes(running)) > before), 'the first bytes are being stored');
      request.destroy();
      assert.ok(await waitFor(async () => (await uploadsIn('cut')) === 0), 'the upload nobody heard of is removed');
      assert.equal(await storedBytes(running), before, 'with its bytes');
      const next = await createUpload(visitor, 'cut', 'again.mp4', QUOTA);
      assert.equal(next.response.status, 201, await next.response.text());
    });
  });
}
