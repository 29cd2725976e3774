// A row write whose answer is lost (the server committed, then the connection broke) must
// not cost the rows their bytes: real PostgreSQL behind a proxy that cuts that one answer.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startCuttingProxy, type CuttingProxy } from '../support/cutting-proxy.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { Visitor, type AttachmentBody } from '../support/visitor.js';

const sha256 = (content: string) => createHash('sha256').update(content).digest('hex');
// The call's text, or the name of its prepared statement, which a connection sends in its
// place after its first call.
const PUT_CALL = /session_attachments_put/;

describe('the connection breaks after the upload committed (postgres)', () => {
  let database: TestDatabase;
  let proxy: CuttingProxy;
  let running: RunningApp;
  before(async () => {
    database = await createTestDatabase('postgres');
    proxy = await startCuttingProxy(database.env.DATABASE_URL!);
    const options = { ...database.options, url: proxy.url } as DataSourceOptions;
    running = await startApp('postgres', { database: { ...database, options } });
  });
  after(async () => {
    await running.close();
    await proxy.close();
    await database.drop();
  });

  test('503, and every row that exists keeps its bytes', async () => {
    const visitor = new Visitor(running.baseUrl);
    assert.equal((await visitor.upload('/attachments/lost', [['f', 'before.txt', 'before']])).status, 201);
    const cut = proxy.cutAnswerTo(PUT_CALL);
    const upload = await visitor.upload('/attachments/lost', [
      ['f', 'one.txt', 'one'],
      ['f', 'two.txt', 'two'],
      ['f', 'before.txt', 'before, again'],
    ]);
    await cut;
    assert.equal(upload.status, 503);
    assert.equal(((await upload.json()) as { code: string }).code, 'database_unavailable');

    // The database is reachable again (the pool opens a new connection through the proxy).
    const rows = await visitor.json<AttachmentBody[]>('/attachments/lost');
    assert.deepEqual(
      rows.map((row) => row.name),
      ['before.txt', 'one.txt', 'two.txt'],
      'the server committed the upload whose answer was lost',
    );
    const [inline] = await running.app
      .get(DataSource)
      .query<Array<{ n: number }>>('SELECT COUNT(*)::int AS n FROM session_attachments WHERE content IS NOT NULL');
    assert.equal(inline?.n, 3, 'the small files travel with their rows: one statement wrote rows and bytes');
    for (const row of rows) {
      const download = await visitor.get(`/attachments/lost/${row.name}`);
      assert.equal(download.status, 200, `${row.name} has its bytes`);
      assert.equal(sha256(await download.text()), row.sha256, `${row.name} has its own bytes`);
    }
  });
});
