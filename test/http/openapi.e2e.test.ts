// The OpenAPI document and UI the demo serves, generated from the module's decorators.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startApp, type RunningApp } from '../support/test-app.js';

interface OpenApiDocument {
  paths: Record<
    string,
    Record<string, { requestBody?: { content: Record<string, unknown> }; responses: Record<string, unknown> }>
  >;
  components: { schemas: Record<string, { properties: Record<string, unknown> }> };
}

describe('OpenAPI', () => {
  let running: RunningApp;
  before(async () => {
    running = await startApp('sqlite');
  });
  after(() => running.close());

  test('the document describes every route and the JSON shapes', async () => {
    const response = await fetch(`${running.baseUrl}/api-json`);
    assert.equal(response.status, 200);
    const document = (await response.json()) as OpenApiDocument;
    const bundle = document.paths['/attachments/{bundle}']!;
    const file = document.paths['/attachments/{bundle}/{name}']!;
    assert.deepEqual(Object.keys(bundle).sort(), ['delete', 'get', 'post']);
    assert.deepEqual(Object.keys(file).sort(), ['delete', 'get']);
    assert.ok(document.paths['/attachments/{bundle}/delete']?.post);
    assert.ok(document.paths['/attachments/{bundle}/{name}/delete']?.post);
    assert.ok(bundle.post!.requestBody!.content['multipart/form-data']);
    assert.deepEqual(Object.keys(bundle.post!.responses).sort(), ['201', '400', '403', '413', '415']);
    assert.deepEqual(Object.keys(document.components.schemas.AttachmentJson!.properties).sort(), [
      'created',
      'mimetype',
      'name',
      'sha256',
      'size',
      'updated',
      'url',
    ]);
    assert.ok(document.components.schemas.AttachmentErrorJson!.properties.code);
    assert.ok(document.paths['/drafts/{bundle}/send']?.post);
  });

  test('the UI is served', async () => {
    const response = await fetch(`${running.baseUrl}/api`);
    assert.equal(response.status, 200);
    assert.match(await response.text(), /swagger-ui/i);
  });
});
