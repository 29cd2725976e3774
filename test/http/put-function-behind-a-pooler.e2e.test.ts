// The put function is called as a named prepared statement; a pooler in transaction mode
// (PgBouncer before 1.21) hands each call another server connection, where that statement is
// missing or another one has its name. Uploads must go on. (A file of its own: the fallback,
// once taken, holds for the rest of the process.)
import { Logger } from '@nestjs/common';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DataSource, type QueryRunner } from 'typeorm';
import { startApp, type RunningApp } from '../support/test-app.js';
import { Visitor } from '../support/visitor.js';

/** Runs `sql` on every connection of the app's pool (all checked out at once, so each is a different one). */
async function onEveryPooledConnection(dataSource: DataSource, sql: string): Promise<void> {
  const size = (dataSource.options as { poolSize?: number }).poolSize ?? 10;
  const runners: QueryRunner[] = Array.from({ length: size }, () => dataSource.createQueryRunner());
  try {
    await Promise.all(runners.map((runner) => runner.connect()));
    await Promise.all(runners.map((runner) => runner.query(sql)));
  } finally {
    await Promise.all(runners.map((runner) => runner.release()));
  }
}

describe('the put function behind a pooler in transaction mode (postgres)', () => {
  let running: RunningApp;
  before(async () => {
    running = await startApp('postgres');
  });
  after(() => running.close());

  test('a server connection where the statement of that name is another: the upload is stored, later ones too, and a warning says why once', async (t) => {
    const warnings: string[] = [];
    t.mock.method(Logger.prototype, 'warn', (message: unknown) => void warnings.push(String(message)));
    const visitor = new Visitor(running.baseUrl);
    assert.equal((await visitor.upload('/attachments/pooled', [['f', 'a.txt', 'one']])).status, 201);
    // What a pooler does: each call meets a server connection where a statement of that name is
    // another one (another client's), whether or not the driver believes it prepared it there.
    await onEveryPooledConnection(running.app.get(DataSource), 'DEALLOCATE ALL');
    await onEveryPooledConnection(running.app.get(DataSource), 'PREPARE session_attachments_put AS SELECT 1');
    for (const content of ['two', 'three']) {
      const replaced = await visitor.upload('/attachments/pooled', [['f', 'a.txt', content]]);
      assert.equal(replaced.status, 201, await replaced.text());
      assert.equal(await visitor.text('/attachments/pooled/a.txt'), content);
    }
    assert.equal(await running.rowCount(), 1);
    assert.equal(warnings.filter((warning) => /prepared statement .*session_attachments_put/.test(warning)).length, 1);
  });
});
