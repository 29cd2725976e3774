// app.close() while a scheduled sweep runs: the round stops at its next step, and the step under
// way ends on an open database before the connection goes (it neither fails half-way nor keeps
// close() waiting for the rest of a long sweep).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DataSource } from 'typeorm';
import { SweepSchedule } from '../../src/attachments/expiry/sweep-schedule.js';
import { DiskStorage, type StoredObject } from '../../src/attachments/index.js';
import { ageAttachments } from '../support/cli.js';
import { createTestDatabase, DATABASE_KINDS } from '../support/databases.js';
import { afterStatement } from '../support/statement-hook.js';
import { countFiles, startApp } from '../support/test-app.js';
import { Visitor } from '../support/visitor.js';

/** A disk storage whose listing (the orphan sweep's first step) waits for `open()`, and that lists one old orphan. */
class GatedStorage extends DiskStorage {
  readonly deleted: string[] = [];
  private listed!: () => void;
  private opened!: () => void;
  readonly listing = new Promise<void>((resolve) => (this.listed = resolve));
  private readonly gate = new Promise<void>((resolve) => (this.opened = resolve));

  open(): void {
    this.opened();
  }

  override async *list(): AsyncIterable<StoredObject> {
    this.listed();
    await this.gate;
    yield { key: 'a'.repeat(32), modifiedAt: new Date(0) };
  }

  override delete(key: string): Promise<void> {
    this.deleted.push(key);
    return Promise.resolve();
  }

  override deleteMany(keys: readonly string[]): Promise<string[]> {
    this.deleted.push(...keys);
    return Promise.resolve([]);
  }
}

for (const kind of DATABASE_KINDS) {
  describe(`app.close() during a sweep on ${kind}`, () => {
    let folder: string;
    before(async () => {
      folder = await mkdtemp(join(tmpdir(), 'attachments-close-'));
    });
    after(() => rm(folder, { recursive: true, force: true }));

    test('waits for the running round, which stops on an open database, then closes', async () => {
      const storage = new GatedStorage({ directory: folder });
      const running = await startApp(kind, { attachments: { storage, sweepEvery: '1h' }, attachmentsDirectory: folder });
      const context = running.app;
      const dataSource = context.get(DataSource);
      const events: string[] = [];
      const destroy = dataSource.destroy.bind(dataSource);
      dataSource.destroy = () => {
        events.push('database closed');
        return destroy();
      };
      const round = context
        .get(SweepSchedule)
        .runOnce()
        .then(() => events.push('round ended'));
      await storage.listing;
      const closed = running.close().then(() => events.push('app closed'));
      // The round is held at its listing while close() runs its hooks; once the database would
      // have gone (without the wait, within a few turns of the event loop), the listing goes on.
      for (let turn = 0; turn < 100 && !events.includes('database closed'); turn += 1) {
        await new Promise((resolve) => setImmediate(resolve));
      }
      storage.open();
      await Promise.all([round, closed]);
      assert.deepEqual(events, ['round ended', 'database closed', 'app closed']);
      assert.deepEqual(storage.deleted, [], "the round stopped before its next candidate: the orphan is the next round's");
    });

    test('a round of many batches stops after the batch under way: its rows and their bytes go, the rest stay', async () => {
      // Its own database and folder, which outlive close() so that what stayed can be counted.
      const database = await createTestDatabase(kind);
      const directory = join(folder, 'batches');
      const running = await startApp(kind, {
        attachments: { sweepEvery: '1h', expireAfter: '1h', sweepBatchSize: 2, inlineMaxSize: 0 },
        attachmentsDirectory: directory,
        database,
      });
      const visitor = new Visitor(running.baseUrl);
      const names = ['a.txt', 'b.txt', 'c.txt', 'd.txt', 'e.txt'];
      await visitor.upload(
        '/attachments/old',
        names.map((name) => ['f', name, name] as [string, string, string]),
      );
      await ageAttachments(running, 2 * 3600_000, names);
      const dataSource = running.app.get(DataSource);
      const schedule = running.app.get(SweepSchedule);
      // close() reaches the schedule's hook a few turns later; the hook below waits for it, so
      // that the round is told to stop while its first batch is under way, not at some batch after.
      let destroying!: () => void;
      const destroyCalled = new Promise<void>((resolve) => (destroying = resolve));
      const onModuleDestroy = schedule.onModuleDestroy.bind(schedule);
      schedule.onModuleDestroy = () => {
        destroying();
        return onModuleDestroy();
      };
      let closed: Promise<void> | undefined;
      // close() begins right after the first batch's rows are deleted, before their bytes are.
      const hook = afterStatement(
        dataSource,
        (sql) => /^\s*DELETE/i.test(sql) && sql.includes('session_attachments') && /RETURNING/i.test(sql),
        () => {
          closed = running.close();
          return destroyCalled;
        },
      );
      const rowsBefore = await running.rowCount();
      const blobsBefore = await running.blobCount();
      await schedule.runOnce();
      assert.ok(hook.fired(), 'the first batch was met');
      await closed;
      assert.equal(rowsBefore, 5);
      assert.equal(blobsBefore, 5);
      const reopened = await new DataSource(database.options).initialize();
      try {
        const [row] = await reopened.query<Array<{ n: string | number }>>('SELECT COUNT(*) AS n FROM session_attachments');
        assert.equal(Number(row?.n), 3, 'one batch of two went, the others stayed for the next round');
      } finally {
        await reopened.destroy();
        await database.drop();
      }
      assert.equal(await countFiles(join(directory, 'blobs')), 3, "the batch's bytes went with it");
    });
  });
}
