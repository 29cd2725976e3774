// limits.filesPerRequest counts the files a visitor chose, not the file inputs a form has: the
// empty part a browser sends for each unused input counts toward nothing, wherever it sits
// among the real files, and whatever type a client gives it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DATABASE_KINDS } from '../support/databases.js';
import { multipartBody, rawUpload, type RawResponse } from '../support/raw-http.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { Visitor, type AttachmentBody } from '../support/visitor.js';

const BOUNDARY = '----WebKitFormBoundaryQ9kXbT2mZ0rL7wJd';
// What Chromium and Firefox send for an <input type="file"> left empty.
const emptyInput = (field: string, type = 'application/octet-stream') => ({
  headers: [`Content-Disposition: form-data; name="${field}"; filename=""`, `Content-Type: ${type}`],
  content: '',
});
const file = (field: string, name: string) => ({
  headers: [`Content-Disposition: form-data; name="${field}"; filename="${name}"`, 'Content-Type: text/plain'],
  content: `content of ${name}`,
});

for (const kind of DATABASE_KINDS) {
  describe(`empty file inputs and limits.filesPerRequest on ${kind}`, () => {
    let running: RunningApp;
    before(async () => {
      running = await startApp(kind, { attachments: { limits: { filesPerRequest: 2 } } });
    });
    after(() => running.close());

    const post = (visitor: Visitor, bundle: string, parts: Parameters<typeof multipartBody>[1]): Promise<RawResponse> =>
      rawUpload(running.baseUrl, visitor, bundle, BOUNDARY, multipartBody(BOUNDARY, parts));
    const names = (response: RawResponse) => (JSON.parse(response.body) as AttachmentBody[]).map((a) => a.name).sort();

    test('as many files as allowed among more empty inputs than that → 201, the files stored', async () => {
      const visitor = new Visitor(running.baseUrl);
      const response = await post(visitor, 'form', [
        emptyInput('a'),
        file('b', 'one.txt'),
        emptyInput('c'),
        emptyInput('d'),
        file('e', 'two.txt'),
        emptyInput('f'),
      ]);
      assert.equal(response.status, 201, response.body);
      assert.deepEqual(names(response), ['one.txt', 'two.txt']);
      assert.deepEqual(await visitor.names('form'), ['one.txt', 'two.txt']);
    });

    test('an empty input of another type beside a file → 201, the file stored', async () => {
      const visitor = new Visitor(running.baseUrl);
      const response = await post(visitor, 'typed', [
        emptyInput('a', 'image/png'),
        file('b', 'one.txt'),
        emptyInput('c', 'text/plain'),
      ]);
      assert.equal(response.status, 201, response.body);
      assert.deepEqual(names(response), ['one.txt']);
    });

    test('more files than allowed, empty inputs or not → 400 too_many_files, nothing stored', async () => {
      const visitor = new Visitor(running.baseUrl);
      const rowsBefore = await running.rowCount();
      const response = await post(visitor, 'over', [
        file('a', 'one.txt'),
        emptyInput('b'),
        file('c', 'two.txt'),
        file('d', 'three.txt'),
      ]);
      assert.equal(response.status, 400, response.body);
      assert.equal((JSON.parse(response.body) as { code: string }).code, 'too_many_files');
      assert.equal(await running.rowCount(), rowsBefore);
      assert.deepEqual(await visitor.names('over'), []);
    });
  });
}
