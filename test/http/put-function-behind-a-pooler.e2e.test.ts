// The put function is called as a named prepared statement; a pooler in transaction mode
// (PgBouncer before 1.21) hands each call another server connection, where that statement is
// missing or another one has its name. Uploads must go on. (A file of its own: the fallback,
// once taken, holds for the rest of the process.)
import { Logger } from '@nestjs/common';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DataSource } from 'typeorm';
import { onEveryPooledConnection } from '../support/pooled-connections.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { Visitor } from '../support/visitor.js';

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
