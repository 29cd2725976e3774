// TypeORM's `schema` option: every statement of the module, hand-written or not, uses it.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { DataSource } from 'typeorm';
import { AttachmentsSweeper } from '../../src/attachments/index.js';
import { createSchemaTestDatabase } from '../support/schema-database.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { Visitor, type AttachmentBody } from '../support/visitor.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe("with TypeORM's schema: 'app' on postgres", () => {
  let running: RunningApp;
  let dataSource: DataSource;
  before(async () => {
    running = await startApp('postgres', { database: await createSchemaTestDatabase('app') });
    dataSource = running.app.get(DataSource);
  });
  after(() => running.close());

  test('the table and the put function live in the schema, nothing in public', async () => {
    const tables = await dataSource.query<Array<{ table_schema: string }>>(
      `SELECT table_schema FROM information_schema.tables WHERE table_name = 'session_attachments'`,
    );
    assert.deepEqual(
      tables.map((row) => row.table_schema),
      ['app'],
    );
    const [row] = await dataSource.query<Array<{ found: boolean }>>(
      `SELECT to_regprocedure('app.session_attachments_put(integer, integer, varchar, varchar, varchar[], varchar[], varchar[], bigint[], varchar[], varchar[], bytea, integer[], bigint, bigint, bigint, bigint, bigint)') IS NOT NULL AS found`,
    );
    assert.equal(row?.found, true);
  });

  test('upload, list, download, replace, delete, clear and send all work', async () => {
    const visitor = new Visitor(running.baseUrl);
    assert.deepEqual(await visitor.json('/attachments/draft'), []);
    const upload = await visitor.upload('/attachments/draft', [
      ['f', 'b.txt', 'bee'],
      ['f', 'a.txt', 'ay'],
    ]);
    assert.equal(upload.status, 201);
    assert.deepEqual(await visitor.names('draft'), ['a.txt', 'b.txt']);
    assert.equal(await visitor.text('/attachments/draft/a.txt'), 'ay');
    assert.equal((await visitor.upload('/attachments/draft', [['f', 'a.txt', 'ay again']])).status, 201);
    assert.equal(await visitor.text('/attachments/draft/a.txt'), 'ay again');
    assert.equal((await visitor.delete('/attachments/draft/b.txt')).status, 204);
    assert.deepEqual(await visitor.names('draft'), ['a.txt']);
    const sent = await visitor.post('/drafts/draft/send');
    assert.equal(sent.status, 200);
    assert.deepEqual(
      ((await sent.json()) as { sent: Array<{ sha256: string }> }).sent.map((file) => file.sha256),
      [sha256('ay again')],
    );
    assert.equal((await visitor.upload('/attachments/other', [['f', 'c.txt', 'sea']])).status, 201);
    assert.equal((await visitor.delete('/attachments/other')).status, 204);
    assert.deepEqual(await visitor.json<AttachmentBody[]>('/attachments/other'), []);
    const [count] = await dataSource.query<Array<{ n: string }>>('SELECT COUNT(*) AS n FROM app.session_attachments');
    assert.equal(Number(count?.n), 0);
  });

  test('the sweep removes outdated rows and their bytes from the schema', async () => {
    const visitor = new Visitor(running.baseUrl);
    await visitor.upload('/attachments/old', [
      ['f', '1.txt', 'one'],
      ['f', '2.txt', 'two'],
    ]);
    await visitor.upload('/attachments/fresh', [['f', '3.txt', 'three']]);
    await dataSource.query(`UPDATE app.session_attachments SET updated_at = 0 WHERE bundle = 'old'`);
    const blobs = await running.heldFileCount();
    const report = await running.app.get(AttachmentsSweeper).sweep();
    assert.equal(report?.outdated.count, 2);
    assert.deepEqual(await visitor.json('/attachments/old'), []);
    assert.deepEqual(await visitor.names('fresh'), ['3.txt']);
    assert.equal(await running.heldFileCount(), blobs - 2);
    assert.equal(await running.app.get(AttachmentsSweeper).removeOrphans(0), 0, 'the fresh blob is referenced');
    assert.equal(await visitor.text('/attachments/fresh/3.txt'), 'three');
  });
});
