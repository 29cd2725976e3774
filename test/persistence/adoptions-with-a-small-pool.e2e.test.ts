// Logins at once, more of them than the connection pool has connections, on a schema without
// the resumable uploads' table (made by `synchronize`, or before that migration ran): each
// adoption holds a connection for its transaction, and the question whether the table is
// there (asked again while it is missing) must not need another one inside it, or a pool's
// worth of logins waits for ever for a connection that only they could give back.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { AttachmentsService, ownerKey } from '../../src/attachments/index.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startApp, type RunningApp } from '../support/test-app.js';

const POOL = 2;

describe('adoptions at once with a pool of two connections and no uploads table, on postgres', () => {
  let database: TestDatabase;
  let running: RunningApp;
  before(async () => {
    database = await createTestDatabase('postgres');
    // A stuck pool fails the waiting adoption after this long instead of hanging the file.
    const extra = { max: POOL, connectionTimeoutMillis: 60_000 };
    running = await startApp('postgres', {
      database: { ...database, options: { ...database.options, extra } as DataSourceOptions },
    });
    await running.app
      .get(DataSource)
      .query('ALTER TABLE session_attachment_uploads RENAME TO session_attachment_uploads_elsewhere');
  });
  after(async () => {
    await running.close();
    await database.drop();
  });

  test('every one of twice the pool size completes', async () => {
    const attachments = running.app.get(AttachmentsService);
    const logins = Array.from({ length: 2 * POOL }, (_, index) =>
      attachments.adopt(ownerKey(`anonymous-${index}`), ownerKey(`user:${index}`)),
    );
    const results = await Promise.allSettled(logins);
    assert.deepEqual(
      results.map((result) => result.status),
      logins.map(() => 'fulfilled'),
    );
  });
});
