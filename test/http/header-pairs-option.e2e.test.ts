// limits.headerPairs never limited anything (busboy's multipart parser has no such limit and
// shows no part's headers): an app that sets it still starts, Node warns that it is ignored,
// and a part with more header lines than it says is stored as it always was.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { multipartBody, rawRequest } from '../support/raw-http.js';
import { startApp } from '../support/test-app.js';
import { Visitor } from '../support/visitor.js';

const BOUNDARY = 'header-pairs-boundary';

test('limits.headerPairs is ignored, with a deprecation warning', async () => {
  const warnings: Array<Error & { code?: string }> = [];
  const onWarning = (warning: Error) => warnings.push(warning);
  process.on('warning', onWarning);
  const running = await startApp('sqlite', { attachments: { limits: { headerPairs: 2 } } });
  try {
    // Node emits a warning on the next tick; the app's start took longer than that.
    const ours = warnings.filter((warning) => warning.code === 'ATTACHMENTS_HEADER_PAIRS');
    assert.equal(ours.length, 1);
    assert.equal(ours[0]!.name, 'DeprecationWarning');
    assert.match(ours[0]!.message, /"limits\.headerPairs" has no effect/);

    const visitor = new Visitor(running.baseUrl);
    await visitor.json('/attachments/headers');
    const headers = [
      'Content-Disposition: form-data; name="f"; filename="many-headers.txt"',
      'Content-Type: text/plain',
      ...Array.from({ length: 5 }, (_, index) => `X-Extra-${index}: ${index}`),
    ];
    const response = await rawRequest(
      running.baseUrl,
      'POST',
      '/attachments/headers',
      { cookie: visitor.cookie ?? '', 'content-type': `multipart/form-data; boundary=${BOUNDARY}` },
      multipartBody(BOUNDARY, [{ headers, content: 'seven header lines' }]),
    );
    assert.equal(response.status, 201, response.body);
    assert.deepEqual(await visitor.names('headers'), ['many-headers.txt']);
  } finally {
    process.off('warning', onWarning);
    await running.close();
  }
});
