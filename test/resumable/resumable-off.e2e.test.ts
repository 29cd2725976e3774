// `resumable: false` mounts no tus route; the module's other routes, a file named tus's too, stay.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startApp, type RunningApp } from '../support/test-app.js';
import { createUpload, headUpload } from '../support/tus.js';
import { Visitor } from '../support/visitor.js';

describe('with resumable: false', () => {
  let running: RunningApp;
  before(async () => {
    running = await startApp('sqlite', { attachments: { resumable: false } });
  });
  after(() => running.close());

  test('no tus route answers, and plain uploads work as before', async () => {
    const visitor = new Visitor(running.baseUrl);
    const { response } = await createUpload(visitor, 'off', 'a.txt', 3);
    assert.equal(response.status, 404);
    assert.equal(response.headers.get('tus-resumable'), null);
    assert.equal((await headUpload(visitor, '/attachments/off/tus/00000000-0000-4000-8000-000000000000')).status, 404);
    const options = await visitor.request('OPTIONS', '/attachments/off/tus');
    assert.equal(options.headers.get('tus-version'), null);
    assert.equal((await visitor.upload('/attachments/off', [['f', 'tus', 'plain']])).status, 201);
    assert.equal(await visitor.text('/attachments/off/tus'), 'plain');
  });
});
