// Upload rules: many files, same-name replacement, all-or-nothing, names, concurrency.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { DATABASE_KINDS } from '../support/databases.js';
import { PLACEMENTS, startApp, type RunningApp } from '../support/test-app.js';
import { Visitor, type AttachmentBody } from '../support/visitor.js';
import { waitFor } from '../support/wait-for.js';

const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

for (const kind of DATABASE_KINDS) {
  for (const placement of PLACEMENTS) {
    describe(`uploads on ${kind}, ${placement.name}`, () => {
      let running: RunningApp;
      before(async () => {
        running = await startApp(kind, { attachments: { limits: { fileSize: 2048 }, inlineMaxSize: placement.inlineMaxSize } });
      });
      after(() => running.close());

      test('several files under one field name are all stored', async () => {
        const visitor = new Visitor(running.baseUrl);
        const response = await visitor.upload('/attachments/many', [
          ['files', 'a.txt', 'a'],
          ['files', 'b.txt', 'b'],
          ['files', 'c.txt', 'c'],
        ]);
        assert.equal(response.status, 201);
        assert.deepEqual(
          (await visitor.json<AttachmentBody[]>('/attachments/many')).map((a) => a.name),
          ['a.txt', 'b.txt', 'c.txt'],
        );
      });

      test('one name twice in a request ends as one attachment, the last', async () => {
        const visitor = new Visitor(running.baseUrl);
        const blobsBefore = await running.heldFileCount();
        const response = await visitor.upload('/attachments/twice', [
          ['f', 'same.txt', 'first'],
          ['f', 'same.txt', 'second'],
        ]);
        assert.equal(response.status, 201);
        const body = (await response.json()) as AttachmentBody[];
        assert.equal(body.length, 1);
        assert.equal(await visitor.text('/attachments/twice/same.txt'), 'second');
        assert.equal(await running.heldFileCount(), blobsBefore + 1);
      });

      test('uploading an existing name replaces it: one row, one blob, created kept, updated moved', async () => {
        const visitor = new Visitor(running.baseUrl);
        const [first] = (await (await visitor.upload('/attachments/over', [['f', 'doc.txt', 'v1']])).json()) as AttachmentBody[];
        const blobs = await running.heldFileCount();
        await new Promise((resolve) => setTimeout(resolve, 5));
        const [second] = (await (
          await visitor.upload('/attachments/over', [['f', 'doc.txt', 'version 2']])
        ).json()) as AttachmentBody[];
        assert.equal(await visitor.text('/attachments/over/doc.txt'), 'version 2');
        assert.equal(second!.created, first!.created);
        assert.ok(Date.parse(second!.updated) > Date.parse(first!.updated));
        assert.equal(second!.sha256, sha256('version 2'));
        assert.equal(await running.heldFileCount(), blobs, 'the replaced blob is deleted');
      });

      test('a failing file fails the whole request: nothing of it stored, earlier attachments untouched', async () => {
        const visitor = new Visitor(running.baseUrl);
        await visitor.upload('/attachments/atomic', [['f', 'keep.txt', 'original']]);
        const rows = await running.rowCount();
        const blobs = await running.heldFileCount();
        const tooLarge = await visitor.upload('/attachments/atomic', [
          ['f', 'keep.txt', 'would replace'],
          ['f', 'new.txt', 'new'],
          ['f', 'huge.bin', new Uint8Array(4096)],
        ]);
        assert.equal(tooLarge.status, 413);
        const badName = await visitor.upload('/attachments/atomic', [
          ['f', 'fine.txt', 'fine'],
          ['f', '..', 'bad'],
        ]);
        assert.equal(badName.status, 400);
        assert.equal(((await badName.json()) as { code: string }).code, 'invalid_name');
        assert.deepEqual(
          (await visitor.json<AttachmentBody[]>('/attachments/atomic')).map((a) => a.name),
          ['keep.txt'],
        );
        assert.equal(await visitor.text('/attachments/atomic/keep.txt'), 'original');
        assert.equal(await running.rowCount(), rows);
        assert.equal(await running.heldFileCount(), blobs);
        assert.equal(await running.temporaryCount(), 0);
      });

      test('names with spaces, non-ASCII characters and a Windows path are kept (last segment, NFC)', async () => {
        const visitor = new Visitor(running.baseUrl);
        const nfd = 'Cafe\u0301 menu.txt';
        const response = await visitor.upload('/attachments/names', [
          ['f', 'my notes 2026.txt', 'spaces'],
          ['f', '履歴書.pdf', 'kanji'],
          ['f', nfd, 'nfd'],
          ['f', 'C:\\Users\\me\\report.txt', 'windows'],
        ]);
        assert.equal(response.status, 201);
        const names = (await visitor.json<AttachmentBody[]>('/attachments/names')).map((a) => a.name);
        assert.deepEqual(names, ['Café menu.txt', 'my notes 2026.txt', 'report.txt', '履歴書.pdf'].sort());
        assert.equal(await visitor.text(`/attachments/names/${encodeURIComponent('my notes 2026.txt')}`), 'spaces');
        assert.equal(await visitor.text(`/attachments/names/${encodeURIComponent('履歴書.pdf')}`), 'kanji');
        // The NFD spelling in a URL finds the NFC-stored file.
        assert.equal(await visitor.text(`/attachments/names/${encodeURIComponent(nfd)}`), 'nfd');
      });

      test('non-file fields are ignored, neither stored nor rejected', async () => {
        const visitor = new Visitor(running.baseUrl);
        const response = await visitor.upload('/attachments/widget', [['filepond', 'photo.png', 'png bytes']], {
          filepond: '{}',
          name: 'photo.png',
          type: 'image/png',
        });
        assert.equal(response.status, 201);
        assert.deepEqual(
          (await visitor.json<AttachmentBody[]>('/attachments/widget')).map((a) => a.name),
          ['photo.png'],
        );
      });

      test('concurrent uploads of one name end as one row and one blob', async () => {
        const visitor = new Visitor(running.baseUrl);
        await visitor.json('/attachments/race');
        const rows = await running.rowCount();
        const blobs = await running.heldFileCount();
        const contents = Array.from({ length: 8 }, (_, index) => `content ${index}`);
        const responses = await Promise.all(
          contents.map((content) => visitor.upload('/attachments/race', [['f', 'one.txt', content]])),
        );
        assert.deepEqual(
          responses.map((response) => response.status),
          contents.map(() => 201),
        );
        assert.equal(await running.rowCount(), rows + 1);
        assert.equal(await running.heldFileCount(), blobs + 1);
        const [stored] = await visitor.json<AttachmentBody[]>('/attachments/race');
        assert.ok(contents.includes(await visitor.text('/attachments/race/one.txt')));
        assert.equal(stored!.sha256, sha256(await visitor.text('/attachments/race/one.txt')));
      });

      test('a list, then parallel uploads from the same cookie-less start, end as one bundle', async () => {
        const visitor = new Visitor(running.baseUrl);
        assert.equal(visitor.cookie, undefined);
        assert.deepEqual(await visitor.json('/attachments/parallel'), []);
        assert.ok(visitor.cookie, 'the list sets the session cookie');
        const names = ['1.txt', '2.txt', '3.txt', '4.txt', '5.txt'];
        const responses = await Promise.all(names.map((name) => visitor.upload('/attachments/parallel', [['file', name, name]])));
        assert.ok(responses.every((response) => response.status === 201));
        assert.deepEqual(
          (await visitor.json<AttachmentBody[]>('/attachments/parallel')).map((a) => a.name),
          names,
        );
      });

      test('the first upload of an anonymous visitor sets the session cookie', async () => {
        const visitor = new Visitor(running.baseUrl);
        const response = await visitor.upload('/attachments/first', [['f', 'x.txt', 'x']]);
        assert.equal(response.status, 201);
        assert.match(response.headers.get('set-cookie') ?? '', /HttpOnly/i);
        assert.equal(await visitor.text('/attachments/first/x.txt'), 'x');
      });

      test('a client that aborts mid-upload leaves no row, no blob and no temporary file', async () => {
        const visitor = new Visitor(running.baseUrl);
        await visitor.json('/attachments/abort');
        const rows = await running.rowCount();
        const blobs = await running.heldFileCount();
        await abortedUpload(running.baseUrl, '/attachments/abort', visitor.cookie!);
        // The server notices the closed socket asynchronously.
        assert.ok(await waitFor(async () => (await running.temporaryCount()) === 0), 'the temporary file goes');
        assert.equal(await running.rowCount(), rows);
        assert.equal(await running.heldFileCount(), blobs);
        assert.deepEqual(await visitor.json('/attachments/abort'), []);
      });
    });
  }

  /** Sends the head of a multipart body and the start of a file, then drops the connection. */
  function abortedUpload(baseUrl: string, path: string, cookie: string): Promise<void> {
    return new Promise((resolve) => {
      const url = new URL(path, baseUrl);
      const boundary = 'abort-boundary';
      const request = httpRequest(url, {
        method: 'POST',
        headers: { cookie, 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': '100000' },
      });
      request.on('error', () => resolve());
      request.write(`--${boundary}\r\nContent-Disposition: form-data; name="f"; filename="partial.bin"\r\n\r\n`);
      request.write(Buffer.alloc(1000, 1), () =>
        setTimeout(() => {
          request.destroy();
          resolve();
        }, 100),
      );
    });
  }
}
