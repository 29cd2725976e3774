// session_attachments_put called as the module calls it, on the shipped schema: the answers of
// the latest migration's function, step by step (several files at once, inline bytes cut from
// one parameter, a replaced row that the expiry sweep deletes while the call waits for it),
// and the same answers as the function before it for the same calls.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { PutFunctionUpdatesInPlace1796700000000 } from '../../src/attachments/migrations/1796700000000-put-function-updates-in-place.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';

interface PutRow {
  refused: string | null;
  saved_name: string | null;
  saved_id: string | null;
  saved_created_at: string | null;
  replaced_key: string | null;
  adopted_into: string | null;
  removed_previews: string[] | null;
}

interface File {
  name: string;
  /** Inline bytes, or none (the storage holds them). */
  content?: string;
  size?: number;
  key?: string;
}

const LIMITS = { filesPerBundle: 3, bytesPerSession: 100, bundlesPerSession: 2 };

function call(client: pg.Pool | pg.PoolClient, session: string, bundle: string, files: File[], now = Date.now()) {
  const contents = files.map((file) => (file.content === undefined ? undefined : Buffer.from(file.content)));
  return client
    .query<PutRow>(
      'SELECT * FROM session_attachments_put($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)',
      [
        7,
        hashOf(session),
        session,
        bundle,
        files.map(() => randomUUID()),
        files.map((file) => file.name),
        files.map(() => 'text/plain'),
        files.map((file, index) => file.size ?? contents[index]?.byteLength ?? 0),
        files.map(() => '0'.repeat(64)),
        files.map((file) => file.key ?? `inline:${randomUUID()}`),
        Buffer.concat(contents.flatMap((content) => (content ? [content] : []))),
        contents.map((content) => (content ? content.byteLength : -1)),
        now,
        LIMITS.filesPerBundle,
        LIMITS.bytesPerSession,
        LIMITS.bundlesPerSession,
        now - 60_000,
      ],
    )
    .then((result) => result.rows);
}

function hashOf(text: string): number {
  let hash = 0;
  for (const char of text) hash = (hash * 31 + char.charCodeAt(0)) | 0;
  return hash;
}

describe('the put function, step by step (postgres)', () => {
  let database: TestDatabase;
  let dataSource: DataSource;
  let pool: pg.Pool;
  before(async () => {
    database = await createTestDatabase('postgres');
    dataSource = new DataSource(database.options);
    await dataSource.initialize();
    await dataSource.runMigrations();
    pool = new pg.Pool({ connectionString: database.env.DATABASE_URL });
  });
  after(async () => {
    await pool.end();
    await dataSource.destroy();
    await database.drop();
  });

  const rowsOf = (session: string) =>
    pool
      .query<{ id: string; name: string; storage_key: string; content: Buffer | null; created_at: string; updated_at: string }>(
        'SELECT id, name, storage_key, content, created_at, updated_at FROM session_attachments WHERE session_key = $1 ORDER BY name',
        [session],
      )
      .then((result) => result.rows);

  test('several files at once: each gets its own bytes, a replaced row keeps its id and created time', async () => {
    const session = `steps-${randomUUID()}`;
    const [first] = await call(pool, session, 'b', [{ name: 'a.txt', content: 'aaa' }], 1000);
    assert.equal(first!.refused, null);
    assert.equal(first!.replaced_key, null);
    const [before] = await rowsOf(session);
    const answer = await call(
      pool,
      session,
      'b',
      [
        { name: 'b.txt', content: 'bb' },
        { name: 'stored.bin', size: 10, key: `stored-${randomUUID()}` },
        { name: 'a.txt', content: 'a, again' },
      ],
      2000,
    );
    assert.deepEqual(
      answer.map((row) => [row.refused, row.saved_name, row.replaced_key, row.removed_previews]),
      [
        [null, 'b.txt', null, []],
        [null, 'stored.bin', null, []],
        [null, 'a.txt', before!.storage_key, []],
      ],
    );
    const rows = await rowsOf(session);
    assert.deepEqual(
      rows.map((row) => [row.name, row.content?.toString() ?? null, row.created_at, row.updated_at]),
      [
        ['a.txt', 'a, again', '1000', '2000'],
        ['b.txt', 'bb', '2000', '2000'],
        ['stored.bin', null, '2000', '2000'],
      ],
    );
    assert.equal(rows[0]!.id, before!.id);
    assert.equal(answer[2]!.saved_id, before!.id);
    assert.equal(answer[2]!.saved_created_at, '1000');
  });

  test('the quotas: a full bundle, too many bundles, too many bytes, each counting what a replace frees', async () => {
    const session = `quotas-${randomUUID()}`;
    const client = pool;
    const files = ['1', '2', '3'].map((name) => ({ name, content: 'x' }));
    assert.equal((await call(client, session, 'one', files))[0]!.refused, null);
    assert.equal((await call(client, session, 'one', [{ name: '4', content: 'x' }]))[0]!.refused, 'bundle_full');
    assert.equal((await call(client, session, 'one', [{ name: '3', content: 'y' }]))[0]!.refused, null, 'a replace fits');
    assert.equal((await call(client, session, 'two', [{ name: '1', content: 'x' }]))[0]!.refused, null);
    assert.equal((await call(client, session, 'three', [{ name: '1', content: 'x' }]))[0]!.refused, 'too_many_bundles');
    assert.equal((await call(client, session, 'two', [{ name: '2', size: 96, key: `k-${randomUUID()}` }]))[0]!.refused, null);
    assert.equal(
      (await call(client, session, 'two', [{ name: '3', size: 1, key: `k-${randomUUID()}` }]))[0]!.refused,
      'session_quota_exceeded',
    );
    const replacing = await call(client, session, 'two', [{ name: '2', size: 96, key: `k-${randomUUID()}` }]);
    assert.equal(replacing[0]!.refused, null, 'the replaced 96 bytes are freed');
    assert.equal((await rowsOf(session)).length, 5);
  });

  test('a replaced row that the expiry sweep deletes meanwhile: the file is inserted, nothing reported replaced', async () => {
    const session = `swept-${randomUUID()}`;
    const client = pool;
    await call(client, session, 'b', [{ name: 'a.txt', content: 'old' }], 1000);
    const [old] = await rowsOf(session);
    const sweep = await pool.connect();
    const upload = await pool.connect();
    try {
      // The sweep's statement: lock the outdated rows, then delete them.
      await sweep.query('BEGIN');
      await sweep.query('SELECT ctid FROM session_attachments WHERE id = $1 FOR UPDATE', [old!.id]);
      const answer = call(upload, session, 'b', [{ name: 'a.txt', content: 'new' }], 2000);
      // The upload waits for the sweep's row lock.
      for (let tries = 0; ; tries += 1) {
        const { rows } = await pool.query<{ waiting: number }>(
          "SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%session_attachments_put%'",
        );
        if (rows[0]!.waiting > 0) break;
        assert.ok(tries < 200, 'the upload never waited for the row');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await sweep.query('DELETE FROM session_attachments WHERE id = $1', [old!.id]);
      await sweep.query('COMMIT');
      const [row] = await answer;
      assert.equal(row!.refused, null);
      assert.equal(row!.replaced_key, null, 'the sweep deletes the bytes it took; the upload must not claim them');
      assert.notEqual(row!.saved_id, old!.id);
      const rows = await rowsOf(session);
      assert.deepEqual(
        rows.map((stored) => [stored.name, stored.content?.toString(), stored.created_at]),
        [['a.txt', 'new', '2000']],
      );
    } finally {
      sweep.release();
      upload.release();
    }
  });

  test('the previous function answers the same calls alike', async () => {
    const script = async () => {
      const session = `same-${randomUUID()}`;
      const client = pool;
      const answers: unknown[] = [];
      const steps: Array<[string, File[]]> = [
        [
          'one',
          [
            { name: 'a', content: 'aa' },
            { name: 'b', content: 'b' },
          ],
        ],
        [
          'one',
          [
            { name: 'a', content: 'aaa' },
            { name: 'c', size: 5, key: 'fixed' },
          ],
        ],
        ['one', [{ name: 'd', content: 'd' }]],
        ['two', [{ name: 'a', content: 'a' }]],
        ['three', [{ name: 'a', content: 'a' }]],
        ['two', [{ name: 'b', size: 200, key: 'big' }]],
        ['one', [{ name: 'c', size: 3, key: 'fixed-2' }]],
      ];
      let now = 1000;
      for (const [bundle, files] of steps) {
        now += 1000;
        const rows = await call(client, session, bundle, files, now);
        answers.push(
          rows.map((row) => [
            row.refused,
            row.saved_name,
            row.saved_created_at,
            row.replaced_key?.startsWith('inline:') ?? row.replaced_key,
          ]),
        );
      }
      const stored = await rowsOf(session);
      answers.push(stored.map((row) => [row.name, row.content?.toString() ?? null, row.created_at, row.updated_at]));
      await pool.query('DELETE FROM session_attachments WHERE session_key = $1', [session]);
      return answers;
    };
    const latest = await script();
    const runner = dataSource.createQueryRunner();
    try {
      await new PutFunctionUpdatesInPlace1796700000000().down(runner);
      const previous = await script();
      assert.deepEqual(latest, previous);
    } finally {
      await new PutFunctionUpdatesInPlace1796700000000().up(runner);
      await runner.release();
    }
  });
});
