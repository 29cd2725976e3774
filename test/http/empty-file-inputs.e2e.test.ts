// A plain HTML form sends each unused file input as a part with `filename=""` and no bytes:
// those parts are skipped, as the original app did, instead of failing the upload.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DATABASE_KINDS } from '../support/databases.js';
import { multipartBody, rawUpload } from '../support/raw-http.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { Visitor, type AttachmentBody } from '../support/visitor.js';

const BOUNDARY = '----WebKitFormBoundaryx6KQ2lrZgKfKbIHC';
// What Chromium sends for an <input type="file"> left empty.
const emptyInput = (field: string) => ({
  headers: [`Content-Disposition: form-data; name="${field}"; filename=""`, 'Content-Type: application/octet-stream'],
  content: '',
});
const file = (field: string, name: string, content: string) => ({
  headers: [`Content-Disposition: form-data; name="${field}"; filename="${name}"`, 'Content-Type: application/octet-stream'],
  content,
});
const textField = (field: string, value: string) => ({
  headers: [`Content-Disposition: form-data; name="${field}"`],
  content: value,
});

for (const kind of DATABASE_KINDS) {
  describe(`empty file inputs on ${kind}`, () => {
    let running: RunningApp;
    before(async () => {
      running = await startApp(kind);
    });
    after(() => running.close());

    const post = (visitor: Visitor, bundle: string, parts: Parameters<typeof multipartBody>[1]) =>
      rawUpload(running.baseUrl, visitor, bundle, BOUNDARY, multipartBody(BOUNDARY, parts));

    test('a form with one chosen file and one empty input stores the one file', async () => {
      const visitor = new Visitor(running.baseUrl);
      const response = await post(visitor, 'form', [
        textField('subject', 'hello'),
        emptyInput('first'),
        file('second', 'letter.txt', 'Dear visitor'),
        emptyInput('third'),
      ]);
      assert.equal(response.status, 201, response.body);
      assert.deepEqual(
        (JSON.parse(response.body) as AttachmentBody[]).map((a) => [a.name, a.size]),
        [['letter.txt', 12]],
      );
      assert.deepEqual(await visitor.names('form'), ['letter.txt']);
      assert.equal(await visitor.text('/attachments/form/letter.txt'), 'Dear visitor');
    });

    test('a form whose file inputs are all empty → 400 no_files, nothing stored', async () => {
      const visitor = new Visitor(running.baseUrl);
      const rowsBefore = await running.rowCount();
      const response = await post(visitor, 'unused', [textField('subject', 'hello'), emptyInput('first'), emptyInput('second')]);
      assert.equal(response.status, 400, response.body);
      assert.equal((JSON.parse(response.body) as { code: string }).code, 'no_files');
      assert.equal(await running.rowCount(), rowsBefore);
      assert.equal(await running.temporaryCount(), 0);
    });

    test('a part with an empty name that carries bytes is still refused → 400 invalid_name', async () => {
      const visitor = new Visitor(running.baseUrl);
      const rowsBefore = await running.rowCount();
      const response = await post(visitor, 'nameless', [file('f', 'kept.txt', 'first'), file('g', '', 'bytes without a name')]);
      assert.equal(response.status, 400, response.body);
      assert.equal((JSON.parse(response.body) as { code: string }).code, 'invalid_name');
      assert.equal(await running.rowCount(), rowsBefore);
      assert.deepEqual(await visitor.names('nameless'), []);
    });
  });
}
