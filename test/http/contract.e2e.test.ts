// The original django-session-attachments README session, and the rest of the HTTP contract.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { DATABASE_KINDS } from '../support/databases.js';
import { PLACEMENTS, startApp, type RunningApp } from '../support/test-app.js';
import { Visitor, type AttachmentBody } from '../support/visitor.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

for (const kind of DATABASE_KINDS) {
  for (const placement of PLACEMENTS) {
    describe(`HTTP contract on ${kind}, ${placement.name}`, () => {
      let running: RunningApp;
      before(async () => {
        running = await startApp(kind, { attachments: { limits: { fileSize: 1024 }, inlineMaxSize: placement.inlineMaxSize } });
      });
      after(() => running.close());

      test('upload two files under two fields answers 201 with both, sorted by name', async () => {
        const visitor = new Visitor(running.baseUrl);
        const response = await visitor.upload('/attachments/foo/', [
          ['attach1', 'spam.txt', 'spam\n'],
          ['attach2', 'egg.txt', 'egg\n'],
        ]);
        assert.equal(response.status, 201);
        const body = (await response.json()) as AttachmentBody[];
        assert.deepEqual(
          body.map((a) => a.name),
          ['egg.txt', 'spam.txt'],
        );
        assert.deepEqual(
          body.map((a) => a.size),
          [4, 5],
        );
        assert.equal(body[1]!.sha256, sha256('spam\n'));
        assert.equal(body[1]!.url, '/attachments/foo/spam.txt');
      });

      test('list carries the original keys plus updated, sha256 and url', async () => {
        const visitor = new Visitor(running.baseUrl);
        await visitor.upload('/attachments/foo', [
          ['f', 'b.txt', 'bb'],
          ['f', 'a.txt', 'a'],
        ]);
        const list = await visitor.json<AttachmentBody[]>('/attachments/foo/');
        assert.deepEqual(
          list.map((a) => a.name),
          ['a.txt', 'b.txt'],
        );
        const first = list[0]!;
        assert.deepEqual(Object.keys(first).sort(), ['created', 'mimetype', 'name', 'sha256', 'size', 'updated', 'url']);
        assert.equal(first.mimetype, 'text/plain');
        assert.match(first.created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        assert.ok(Math.abs(Date.parse(first.created) - Date.now()) < 60_000);
        assert.deepEqual(await visitor.json('/attachments/unknown-bundle'), []);
      });

      test('list is JSON with an ETag, answers 304 to it, and says what the upload answered', async () => {
        const visitor = new Visitor(running.baseUrl);
        const uploaded = await visitor.upload('/attachments/tagged', [
          ['f', 'zeta "quoted".txt', 'z'],
          ['f', 'äbc déjà.txt', 'ä'],
        ]);
        const answer = (await uploaded.json()) as AttachmentBody[];
        const listed = await visitor.get('/attachments/tagged');
        assert.equal(listed.status, 200);
        assert.equal(listed.headers.get('content-type'), 'application/json; charset=utf-8');
        const etag = listed.headers.get('etag');
        assert.ok(etag, 'the list carries an ETag');
        assert.deepEqual(await listed.json(), answer);
        // As a browser revalidates (fetch would otherwise add Cache-Control: no-cache, which
        // asks for the whole answer).
        const revalidate = { 'if-none-match': etag, 'cache-control': 'max-age=0' };
        const again = await visitor.get('/attachments/tagged', revalidate);
        assert.equal(again.status, 304);
        await visitor.upload('/attachments/tagged', [['f', 'more.txt', 'm']]);
        assert.equal((await visitor.get('/attachments/tagged', revalidate)).status, 200, 'a changed list is sent again');
      });

      test('download with and without the trailing slash streams the bytes with safe headers', async () => {
        const visitor = new Visitor(running.baseUrl);
        await visitor.upload('/attachments/foo', [['f', 'spam.txt', 'spam\n']]);
        assert.equal(await visitor.text('/attachments/foo/spam.txt/'), 'spam\n');
        const response = await visitor.get('/attachments/foo/spam.txt');
        assert.equal(response.status, 200);
        assert.equal(await response.text(), 'spam\n');
        assert.equal(response.headers.get('content-type'), 'text/plain');
        assert.equal(response.headers.get('content-length'), '5');
        assert.equal(response.headers.get('content-disposition'), 'attachment; filename=spam.txt');
        assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
      });

      test('Content-Disposition carries an RFC 6266 filename* for non-ASCII names', async () => {
        const visitor = new Visitor(running.baseUrl);
        const name = 'résumé 2026 (final).pdf';
        const upload = await visitor.upload('/attachments/apply', [['cv', name, '%PDF-1.4']]);
        assert.equal(upload.status, 201);
        const [stored] = (await upload.json()) as AttachmentBody[];
        assert.equal(stored!.name, name);
        assert.equal(stored!.mimetype, 'application/pdf');
        const response = await visitor.get(stored!.url);
        assert.equal(response.status, 200);
        const disposition = response.headers.get('content-disposition') ?? '';
        assert.match(
          disposition,
          /^attachment; filename="r\?sum\? 2026 \(final\)\.pdf"; filename\*=UTF-8''r%C3%A9sum%C3%A9%202026%20%28final%29\.pdf$/,
        );
        assert.equal(await response.text(), '%PDF-1.4');
      });

      test('delete one with POST …/delete/ and with DELETE; clear with POST …/delete/ and DELETE', async () => {
        const visitor = new Visitor(running.baseUrl);
        await visitor.upload('/attachments/d1', [
          ['f', 'a.txt', 'a'],
          ['f', 'b.txt', 'b'],
          ['f', 'c.txt', 'c'],
        ]);
        assert.equal((await visitor.post('/attachments/d1/a.txt/delete/')).status, 204);
        assert.equal((await visitor.delete('/attachments/d1/b.txt')).status, 204);
        assert.deepEqual(
          (await visitor.json<AttachmentBody[]>('/attachments/d1')).map((a) => a.name),
          ['c.txt'],
        );
        assert.equal((await visitor.get('/attachments/d1/a.txt')).status, 404);

        await visitor.upload('/attachments/d2', [['f', 'x.txt', 'x']]);
        await visitor.upload('/attachments/d3', [['f', 'y.txt', 'y']]);
        assert.equal((await visitor.post('/attachments/d1/delete/')).status, 204);
        assert.equal((await visitor.delete('/attachments/d2/')).status, 204);
        assert.deepEqual(await visitor.json('/attachments/d1'), []);
        assert.deepEqual(await visitor.json('/attachments/d2'), []);
        assert.equal((await visitor.json<AttachmentBody[]>('/attachments/d3')).length, 1);
      });

      test('a file named "delete" is still a file', async () => {
        const visitor = new Visitor(running.baseUrl);
        await visitor.upload('/attachments/words', [
          ['f', 'delete', 'not a route'],
          ['f', 'keep.txt', 'k'],
        ]);
        assert.equal(await visitor.text('/attachments/words/delete'), 'not a route');
        assert.equal((await visitor.post('/attachments/words/delete/delete')).status, 204);
        assert.deepEqual(
          (await visitor.json<AttachmentBody[]>('/attachments/words')).map((a) => a.name),
          ['keep.txt'],
        );
      });

      test('bundles are separate', async () => {
        const visitor = new Visitor(running.baseUrl);
        await visitor.upload('/attachments/one', [['f', 'same.txt', 'one']]);
        await visitor.upload('/attachments/two', [['f', 'same.txt', 'two']]);
        assert.equal(await visitor.text('/attachments/one/same.txt'), 'one');
        assert.equal(await visitor.text('/attachments/two/same.txt'), 'two');
      });

      test('errors are JSON with status, code and message', async () => {
        const visitor = new Visitor(running.baseUrl);
        const noFiles = await visitor.upload('/attachments/foo', [], { note: 'hello' });
        assert.equal(noFiles.status, 400);
        assert.deepEqual(await noFiles.json(), {
          statusCode: 400,
          error: 'Bad Request',
          code: 'no_files',
          message: 'The request carries no file: send one or more file parts in multipart/form-data',
        });
        const missing = await visitor.get('/attachments/foo/nothing.txt');
        assert.equal(missing.status, 404);
        assert.equal(((await missing.json()) as { code: string }).code, 'not_found');
        const deleteMissing = await visitor.delete('/attachments/foo/nothing.txt');
        assert.equal(deleteMissing.status, 404);
        const large = await visitor.upload('/attachments/foo', [['f', 'big.bin', new Uint8Array(1025)]]);
        assert.equal(large.status, 413);
        assert.equal(((await large.json()) as { code: string }).code, 'file_too_large');
        const badBundle = await visitor.get('/attachments/bad%20bundle');
        assert.equal(badBundle.status, 400);
        assert.equal(((await badBundle.json()) as { code: string }).code, 'invalid_bundle');
        const notMultipart = await visitor.request('POST', '/attachments/foo', {
          body: 'x',
          headers: { 'content-type': 'text/plain' },
        });
        assert.equal(notMultipart.status, 400);
        assert.equal(((await notMultipart.json()) as { code: string }).code, 'invalid_multipart');
      });

      test('a file exactly at the size limit is accepted', async () => {
        const visitor = new Visitor(running.baseUrl);
        const response = await visitor.upload('/attachments/limit', [['f', 'edge.bin', new Uint8Array(1024)]]);
        assert.equal(response.status, 201);
      });
    });
  }
}
