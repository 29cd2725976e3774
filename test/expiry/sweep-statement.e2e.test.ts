// The sweep's batch DELETE on PostgreSQL: its plan whatever the statistics say, and its
// re-check of a row that an upload replaces while the sweep waits for it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DataSource } from 'typeorm';
import { AttachmentsSweeper } from '../../src/attachments/index.js';
import { sqlDialectFor } from '../../src/attachments/persistence/sql-dialect.js';
import { withClient } from '../support/databases.js';
import { seedAttachments } from '../support/seed.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { waitFor } from '../support/wait-for.js';

const DAY = 24 * 3600_000;

describe('the sweep statement on postgres', () => {
  let running: RunningApp;
  let dataSource: DataSource;
  before(async () => {
    running = await startApp('postgres');
    dataSource = running.app.get(DataSource);
  });
  after(() => running.close());

  test('deletes by row address even when the statistics say no row is old', async () => {
    // Statistics taken over fresh rows only, then old rows added: the planner believes the
    // cutoff matches about one row, which once made it loop over every old row per batch.
    const insert = (prefix: string, count: number, updatedAt: number) =>
      dataSource.query(
        `INSERT INTO session_attachments SELECT md5($1 || g), 'visitor-' || (g % 97), 'b', $1 || g, 'text/plain', 1, ` +
          `repeat('0', 64), md5('key' || $1 || g), $3, $3 FROM generate_series(1, $2::int) g`,
        [prefix, count, updatedAt],
      );
    await insert('fresh-', 3000, Date.now());
    await dataSource.query('ANALYZE session_attachments');
    await insert('old-', 2000, Date.now() - 2 * DAY);
    const batch = sqlDialectFor(dataSource).deleteBatch(Date.now() - DAY, Date.now() - DAY, 500);
    const rows = await dataSource.query<Array<{ 'QUERY PLAN': string }>>(`EXPLAIN ${batch.sql}`, batch.parameters);
    const plan = rows.map((row) => row['QUERY PLAN']).join('\n');
    assert.match(plan, /Tid Scan/, plan);
    assert.doesNotMatch(plan, /Nested Loop/, plan);
  });

  test('a row replaced while the sweep waits for it is kept, with its new content', async () => {
    await dataSource.query('DELETE FROM session_attachments');
    await seedAttachments(running, 20, 2 * DAY);
    const [victim] = await dataSource.query<Array<{ id: string }>>(
      'SELECT id FROM session_attachments ORDER BY updated_at, id LIMIT 1',
    );
    const url = running.database.env.DATABASE_URL!;
    // An "upload" that replaces the oldest row and has not committed yet.
    await withClient(url, async (client) => {
      await client.query('BEGIN');
      await client.query('UPDATE session_attachments SET updated_at = $1, sha256 = $2 WHERE id = $3', [
        Date.now(),
        'f'.repeat(64),
        victim!.id,
      ]);
      const sweep = running.app.get(AttachmentsSweeper).removeOutdated({ olderThan: DAY });
      // The sweep blocks on the replaced row: commit once it waits there.
      const waiting = await waitFor(async () => {
        // Inside a transaction the activity view is a snapshot, taken once unless cleared.
        await client.query('SELECT pg_stat_clear_snapshot()');
        const { rows } = await client.query<{ n: number }>(
          "SELECT COUNT(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'DELETE FROM %session_attachments%'",
        );
        return rows[0]!.n > 0;
      });
      assert.ok(waiting, 'the sweep waits for the uncommitted replacement');
      await client.query('COMMIT');
      const report = await sweep;
      assert.equal(report.count, 19);
    });
    const left = await dataSource.query<Array<{ id: string; sha256: string }>>('SELECT id, sha256 FROM session_attachments');
    assert.deepEqual(left, [{ id: victim!.id, sha256: 'f'.repeat(64) }]);
  });
});
