// TypeORM's `schema` option: the uploads tables live in it, and every tus statement uses it.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { DataSource } from 'typeorm';
import { AttachmentsSweeper } from '../../src/attachments/index.js';
import { createSchemaTestDatabase } from '../support/schema-database.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { createUpload, headUpload, patchUpload } from '../support/tus.js';
import { Visitor, type AttachmentBody } from '../support/visitor.js';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe("resumable uploads with TypeORM's schema: 'app' on postgres", () => {
  let running: RunningApp;
  let dataSource: DataSource;
  before(async () => {
    running = await startApp('postgres', { database: await createSchemaTestDatabase('app'), attachments: { inlineMaxSize: 0 } });
    dataSource = running.app.get(DataSource);
  });
  after(() => running.close());

  test('the uploads tables live in the schema, nothing in public', async () => {
    const tables = await dataSource.query<Array<{ table_schema: string; table_name: string }>>(
      `SELECT table_schema, table_name FROM information_schema.tables WHERE table_name LIKE 'session_attachment_upload%' ORDER BY table_name`,
    );
    assert.deepEqual(
      tables.map((row) => `${row.table_schema}.${row.table_name}`),
      ['app.session_attachment_upload_parts', 'app.session_attachment_uploads'],
    );
  });

  test('create, PATCH, HEAD, finish, terminate and the sweep all work', async () => {
    const visitor = new Visitor(running.baseUrl);
    const content = randomBytes(30_000);
    const { location } = await createUpload(visitor, 'draft', 'a.bin', content.byteLength);
    assert.equal((await patchUpload(visitor, location, 0, content.subarray(0, 10_000))).status, 204);
    assert.equal((await headUpload(visitor, location)).headers.get('upload-offset'), '10000');
    const done = await patchUpload(visitor, location, 10_000, content.subarray(10_000));
    assert.equal((JSON.parse(done.headers.get('attachment')!) as AttachmentBody).sha256, sha256(content));

    const dropped = await createUpload(visitor, 'draft', 'b.bin', 100);
    assert.equal((await patchUpload(visitor, dropped.location, 0, randomBytes(10))).status, 204);
    assert.equal((await visitor.request('DELETE', dropped.location, { headers: { 'tus-resumable': '1.0.0' } })).status, 204);

    const stale = await createUpload(visitor, 'draft', 'c.bin', 100);
    assert.equal((await patchUpload(visitor, stale.location, 0, randomBytes(10))).status, 204);
    await dataSource.query(`UPDATE app.session_attachment_uploads SET updated_at = 0 WHERE name = 'c.bin'`);
    const report = await running.app.get(AttachmentsSweeper).sweep();
    assert.equal(report?.uploads, 1);
    assert.equal(await running.app.get(AttachmentsSweeper).removeOrphans(0), 0);
    assert.equal(await running.blobCount(), 1);
  });
});
