// The list is read as a named prepared statement whose rows are handed over one at a time
// (persistence/named-statement.ts). A pooler in transaction mode must not break it, and a
// failing visitor must neither leak a pooled connection nor pass for a database failure.
import { Logger } from '@nestjs/common';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DataSource } from 'typeorm';
import { namedQueryEach } from '../../src/attachments/persistence/named-statement.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { onEveryPooledConnection } from '../support/pooled-connections.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { Visitor } from '../support/visitor.js';

describe('the list behind a pooler in transaction mode (postgres)', () => {
  let running: RunningApp;
  before(async () => {
    running = await startApp('postgres');
  });
  after(() => running.close());

  test('a server connection where the statement of that name is another: the list is whole and in order, and a warning says why once', async (t) => {
    const warnings: string[] = [];
    t.mock.method(Logger.prototype, 'warn', (message: unknown) => void warnings.push(String(message)));
    const visitor = new Visitor(running.baseUrl);
    const response = await visitor.upload('/attachments/pooled', [
      ['f', 'b.txt', 'two'],
      ['f', 'a.txt', 'one'],
      ['f', 'c.txt', 'three'],
    ]);
    assert.equal(response.status, 201, await response.text());
    // Some connections prepared the list before the pooler "swaps" them, some did not.
    assert.deepEqual(await visitor.names('pooled'), ['a.txt', 'b.txt', 'c.txt']);
    const dataSource = running.app.get(DataSource);
    await onEveryPooledConnection(dataSource, 'DEALLOCATE ALL');
    await onEveryPooledConnection(dataSource, 'PREPARE "list session_attachments" AS SELECT 1');
    for (let round = 0; round < 3; round += 1) assert.deepEqual(await visitor.names('pooled'), ['a.txt', 'b.txt', 'c.txt']);
    assert.equal(warnings.filter((warning) => /prepared statement list session_attachments/.test(warning)).length, 1);
  });
});

for (const kind of DATABASE_KINDS) {
  describe(`a visitor of listed rows that throws (${kind})`, () => {
    let running: RunningApp;
    before(async () => {
      running = await startApp(kind);
    });
    after(() => running.close());

    test('the call rejects with the very error after the rows it saw, and every pooled connection still answers', async () => {
      const dataSource = running.app.get(DataSource);
      const failure = new Error('the visitor failed');
      let visited = 0;
      const series = kind === 'postgres' ? 'SELECT g FROM generate_series(1, 5000) g' : 'SELECT value AS g FROM json_each(?)';
      const values = kind === 'postgres' ? [] : [JSON.stringify(Array.from({ length: 5000 }, (_, index) => index + 1))];
      await assert.rejects(
        namedQueryEach<{ g: number }>(dataSource, 'visitor test', series, values, () => {
          visited += 1;
          if (visited === 3) throw failure;
        }),
        (error) => error === failure,
      );
      assert.equal(visited, 3);
      // Twice the pool: had the call kept its connection, or left one mid-result, one of these would hang or fail.
      for (let round = 0; round < 2; round += 1) await onEveryPooledConnection(dataSource, 'SELECT 1');
      const seen: number[] = [];
      await namedQueryEach<{ g: number }>(dataSource, 'visitor test', series, values, (row) => void seen.push(Number(row.g)));
      assert.equal(seen.length, 5000);
      assert.equal(seen[4999], 5000);
    });
  });
}
