// The OpenAPI document and UI the demo serves, generated from the module's decorators.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ATTACHMENT_ERRORS, type AttachmentErrorCode } from '../../src/attachments/index.js';
import { startApp, type RunningApp } from '../support/test-app.js';

interface OpenApiResponse {
  description: string;
}
interface OpenApiDocument {
  paths: Record<
    string,
    Record<string, { requestBody?: { content: Record<string, unknown> }; responses: Record<string, OpenApiResponse> }>
  >;
  components: { schemas: Record<string, { properties: Record<string, unknown> }> };
}

// What a route can answer, read from the code that raises it: every route needs an owner (401
// with the `owner` option, 500 without a session) and a database (503); routes that change
// state refuse cross-site requests (403).
const everywhere: AttachmentErrorCode[] = ['owner_required', 'session_middleware_missing', 'database_unavailable'];
const changes: AttachmentErrorCode[] = [...everywhere, 'cross_site_request'];
const oneFile: AttachmentErrorCode[] = ['invalid_bundle', 'invalid_name', 'not_found'];
// tus: the version header, the owner's upload, and a plain upload's rules as bytes arrive.
const tus: AttachmentErrorCode[] = ['tus_version_unsupported', 'invalid_bundle'];
const tusUpload: AttachmentErrorCode[] = [...tus, 'upload_not_found'];
const tusBytes: AttachmentErrorCode[] = [
  'upload_length_exceeded',
  'session_quota_exceeded',
  'type_not_allowed',
  'bundle_full',
  'too_many_bundles',
  'upload_timeout',
  'storage_full',
  'storage_unavailable',
  'file_rejected',
  'inspection_unavailable',
];
const ROUTES: Array<{ route: string; success: number[]; codes: AttachmentErrorCode[] }> = [
  {
    route: 'post /attachments/{bundle}',
    success: [201],
    codes: [
      ...changes,
      'invalid_bundle',
      'invalid_name',
      'invalid_multipart',
      'no_files',
      'too_many_files',
      'too_many_parts',
      'field_too_large',
      'bundle_full',
      'too_many_bundles',
      'client_aborted',
      'upload_timeout',
      'file_too_large',
      'session_quota_exceeded',
      'type_not_allowed',
      'storage_full',
      'storage_unavailable',
      'file_rejected',
      'inspection_unavailable',
    ],
  },
  { route: 'get /attachments/{bundle}', success: [200], codes: [...everywhere, 'invalid_bundle'] },
  {
    route: 'get /attachments/{bundle}/{name}',
    success: [200, 206, 304],
    codes: [...everywhere, ...oneFile, 'range_not_satisfiable', 'storage_unavailable'],
  },
  {
    route: 'get /attachments/{bundle}/{name}/preview',
    success: [200, 304],
    codes: [
      ...everywhere,
      ...oneFile,
      'invalid_preview_size',
      'no_preview',
      'preview_unavailable',
      'preview_busy',
      'storage_unavailable',
    ],
  },
  { route: 'post /attachments/{bundle}/delete', success: [204], codes: [...changes, 'invalid_bundle'] },
  { route: 'delete /attachments/{bundle}', success: [204], codes: [...changes, 'invalid_bundle'] },
  { route: 'post /attachments/{bundle}/{name}/delete', success: [204], codes: [...changes, ...oneFile] },
  { route: 'delete /attachments/{bundle}/{name}', success: [204], codes: [...changes, ...oneFile] },
  { route: 'options /attachments/{bundle}/tus', success: [204], codes: everywhere },
  { route: 'options /attachments/{bundle}/tus/{id}', success: [204], codes: everywhere },
  {
    route: 'post /attachments/{bundle}/tus',
    success: [201],
    codes: [
      ...changes,
      ...tus,
      'invalid_name',
      'upload_length_required',
      'invalid_upload_length',
      'invalid_upload_metadata',
      'file_too_large',
      ...tusBytes,
    ],
  },
  { route: 'head /attachments/{bundle}/tus/{id}', success: [200], codes: [...everywhere, ...tusUpload] },
  {
    route: 'patch /attachments/{bundle}/tus/{id}',
    success: [204],
    codes: [
      ...changes,
      ...tusUpload,
      'invalid_patch_content_type',
      'invalid_upload_offset',
      'offset_mismatch',
      'too_many_parts',
      ...tusBytes,
    ],
  },
  { route: 'delete /attachments/{bundle}/tus/{id}', success: [204], codes: [...changes, ...tusUpload] },
  {
    route: 'post /attachments/{bundle}/tus/{id}',
    success: [204],
    codes: [
      ...changes,
      ...tusUpload,
      'invalid_patch_content_type',
      'invalid_upload_offset',
      'offset_mismatch',
      'too_many_parts',
      ...tusBytes,
    ],
  },
];

describe('OpenAPI', () => {
  let running: RunningApp;
  let document: OpenApiDocument;
  before(async () => {
    running = await startApp('sqlite');
    const response = await fetch(`${running.baseUrl}/api-json`);
    assert.equal(response.status, 200);
    document = (await response.json()) as OpenApiDocument;
  });
  after(() => running.close());

  test('the document describes every route and the JSON shapes', () => {
    const bundle = document.paths['/attachments/{bundle}']!;
    const file = document.paths['/attachments/{bundle}/{name}']!;
    assert.deepEqual(Object.keys(bundle).sort(), ['delete', 'get', 'post']);
    assert.deepEqual(Object.keys(file).sort(), ['delete', 'get']);
    assert.ok(document.paths['/attachments/{bundle}/delete']?.post);
    assert.ok(document.paths['/attachments/{bundle}/{name}/delete']?.post);
    assert.ok(bundle.post!.requestBody!.content['multipart/form-data']);
    assert.deepEqual(
      Object.keys(document.components.schemas.AttachmentJson!.properties).sort(),
      ['created', 'mimetype', 'name', 'sha256', 'size', 'updated', 'url', 'preview'].sort(),
    );
    assert.ok(document.components.schemas.AttachmentErrorJson!.properties.code);
    assert.ok(document.paths['/drafts/{bundle}/send']?.post);
  });

  test('every route lists each status it can answer, and the codes behind each error status', () => {
    const documented = Object.entries(document.paths)
      .filter(([path]) => path.startsWith('/attachments/'))
      .flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method} ${path}`));
    assert.deepEqual(documented.sort(), ROUTES.map(({ route }) => route).sort(), 'the table names every route');
    for (const { route, success, codes } of ROUTES) {
      const [method, path] = route.split(' ') as [string, string];
      const responses = document.paths[path]![method]!.responses;
      const statuses = new Set([...success, ...codes.map((code) => ATTACHMENT_ERRORS[code].status)]);
      assert.deepEqual(Object.keys(responses).map(Number).sort(), [...statuses].sort(), `${route}: documented statuses`);
      for (const code of codes) {
        const { status } = ATTACHMENT_ERRORS[code];
        assert.ok(responses[status]!.description.split(', ').includes(code), `${route}: ${status} names ${code}`);
      }
    }
  });

  test('the UI is served', async () => {
    const response = await fetch(`${running.baseUrl}/api`);
    assert.equal(response.status, 200);
    assert.match(await response.text(), /swagger-ui/i);
  });
});
