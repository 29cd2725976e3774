// app.close() while a scheduled sweep runs: the round finishes on an open database before the
// connection goes (it neither fails half-way nor keeps close() waiting after it ends).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DataSource } from 'typeorm';
import { SweepSchedule } from '../../src/attachments/expiry/sweep-schedule.js';
import { DiskStorage, type StoredObject } from '../../src/attachments/index.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { startApp } from '../support/test-app.js';

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

    test('waits for the running round, which ends on an open database, then closes', async () => {
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
      assert.deepEqual(storage.deleted, ['a'.repeat(32)], 'the orphan check read the database and removed the orphan');
    });
  });
}
