// A take() finds what it holds through indexes, however many rows other owners have. Its last
// step found its rows by the claim alone (a column with no index): every submit, successful or
// failed, read the whole table, all owners' rows, while holding the session's lock.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Logger } from 'typeorm';
import { DataSource } from 'typeorm';
import { AttachmentsService, type OwnerKey } from '../../src/attachments/index.js';
import { createTestDatabase, DATABASE_KINDS } from '../support/databases.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { Visitor } from '../support/visitor.js';

/** Rows of other owners: enough that a planner with statistics never scans them for a few ids. */
const OTHER_ROWS = 20_000;

/** Keeps the statements sent while `recording` is on. */
class RecordingLogger implements Logger {
  recording = false;
  readonly statements: Array<{ sql: string; parameters: unknown[] }> = [];
  logQuery(sql: string, parameters?: unknown[]): void {
    if (this.recording) this.statements.push({ sql, parameters: parameters ?? [] });
  }
  logQueryError(): void {}
  logQuerySlow(): void {}
  logSchemaBuild(): void {}
  logMigration(): void {}
  log(): void {}
}

const seedOthers = (kind: string) =>
  kind === 'postgres'
    ? `INSERT INTO session_attachments (id, session_key, bundle, name, mimetype, size, sha256, storage_key, created_at, updated_at, claim, claimed_at)
       SELECT 'other-' || n, 'other-' || (n / 10), 'draft', 'f' || n, 'text/plain', 1, 'x', 'other-key-' || n, 0, 0,
              CASE WHEN n % 2 = 0 THEN 'other-claim-' || n END, CASE WHEN n % 2 = 0 THEN 0 END
       FROM generate_series(1, ${OTHER_ROWS}) AS n`
    : `WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < ${OTHER_ROWS})
       INSERT INTO session_attachments (id, session_key, bundle, name, mimetype, size, sha256, storage_key, created_at, updated_at, claim, claimed_at)
       SELECT 'other-' || n, 'other-' || (n / 10), 'draft', 'f' || n, 'text/plain', 1, 'x', 'other-key-' || n, 0, 0,
              CASE WHEN n % 2 = 0 THEN 'other-claim-' || n END, CASE WHEN n % 2 = 0 THEN 0 END
       FROM s`;

/** The relations a PostgreSQL JSON plan reads by sequential scan. */
function seqScansOf(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(seqScansOf);
  if (typeof node !== 'object' || node === null) return [];
  const record = node as Record<string, unknown>;
  const own = record['Node Type'] === 'Seq Scan' ? [String(record['Relation Name'])] : [];
  return [...own, ...Object.values(record).flatMap(seqScansOf)];
}

for (const kind of DATABASE_KINDS) {
  describe(`take() reads and writes by index on ${kind}`, () => {
    let running: RunningApp;
    const logger = new RecordingLogger();
    before(async () => {
      const database = await createTestDatabase(kind);
      running = await startApp(kind, { database: { ...database, options: { ...database.options, logger } } });
      const dataSource = running.app.get(DataSource);
      await dataSource.query(seedOthers(kind));
      await dataSource.query('ANALYZE');
    });
    after(async () => {
      await running.close();
      await running.database.drop();
    });

    /** The plans of the statements recorded that touch the attachments table. */
    async function plans(): Promise<Array<{ sql: string; plan: string }>> {
      const dataSource = running.app.get(DataSource);
      const touching = logger.statements.filter(
        ({ sql }) => /session_attachments\b/.test(sql) && /^\s*(SELECT|UPDATE|DELETE)/i.test(sql),
      );
      const found: Array<{ sql: string; plan: string }> = [];
      for (const { sql, parameters } of touching) {
        const plan =
          kind === 'postgres'
            ? JSON.stringify(await dataSource.query(`EXPLAIN (FORMAT JSON) ${sql}`, parameters))
            : (await dataSource.query<Array<{ detail: string }>>(`EXPLAIN QUERY PLAN ${sql}`, parameters))
                .map((row) => row.detail)
                .join('; ');
        found.push({ sql, plan });
      }
      return found;
    }

    const scansTheTable = (plan: string) =>
      kind === 'postgres'
        ? seqScansOf(JSON.parse(plan)).includes('session_attachments')
        : /\bSCAN session_attachments\b/.test(plan);

    for (const outcome of ['succeeds', 'fails'] as const) {
      test(`a take that ${outcome} scans no other owner's rows`, async () => {
        const visitor = new Visitor(running.baseUrl);
        const bundle = `send-${outcome}`;
        const upload = await visitor.upload(`/attachments/${bundle}`, [
          ['f', 'a.txt', 'a'],
          ['f', 'b.txt', 'b'],
        ]);
        assert.equal(upload.status, 201);
        const [row] = await running.app
          .get(DataSource)
          .query<Array<{ session_key: string }>>(`SELECT session_key FROM session_attachments WHERE bundle = '${bundle}'`);
        const owner = row!.session_key as OwnerKey;
        logger.statements.length = 0;
        logger.recording = true;
        const taking = running.app.get(AttachmentsService).take(owner, bundle, async ({ stream }) => {
          stream.resume();
          if (outcome === 'fails') throw new Error('the mail server is down');
        });
        if (outcome === 'fails') await assert.rejects(taking, /mail server/);
        else assert.equal((await taking).length, 2);
        logger.recording = false;
        const planned = await plans();
        // The claim, the read of what it holds, and the removal or the release: all recorded.
        assert.ok(planned.length >= 3, JSON.stringify(planned));
        const scanning = planned.filter(({ plan }) => scansTheTable(plan));
        assert.deepEqual(scanning, [], 'no statement of the take reads the whole table');
        assert.deepEqual(await visitor.names(bundle), outcome === 'fails' ? ['a.txt', 'b.txt'] : []);
      });
    }
  });
}
