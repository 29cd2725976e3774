// On SQLite a write transaction takes the write lock when it begins. A transaction that read
// first and then found another process writing could not wait (what it read would be stale
// once the other commits): SQLite failed it at once, whatever the busy timeout, and an upload
// that met the CLI's sweep answered 503. Here another connection (as another process would)
// holds the write lock: the module's transaction must wait at its start, before any of its
// work runs, and run once the lock is free.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { DataSource, type EntityManager } from 'typeorm';
import { WriteTurns } from '../../src/attachments/persistence/write-turns.js';

describe('SQLite write transactions begin immediate', () => {
  let folder: string;
  let dataSource: DataSource;
  let other: Database.Database;
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), 'attachments-write-lock-'));
    const database = join(folder, 'locks.sqlite');
    // A short busy timeout: better-sqlite3 waits synchronously, and this process also holds the lock.
    dataSource = new DataSource({ type: 'better-sqlite3', database, enableWAL: true, timeout: 100 });
    await dataSource.initialize();
    await dataSource.query('CREATE TABLE rows (id INTEGER PRIMARY KEY, note TEXT)');
    other = new Database(database);
  });
  after(async () => {
    other.close();
    await dataSource.destroy();
    await rm(folder, { recursive: true, force: true });
  });

  test('while another connection holds the write lock, no work runs; once it commits, the work does', async () => {
    const turns = new WriteTurns(dataSource);
    let runs = 0;
    const work = async (manager: EntityManager) => {
      runs += 1;
      // Read, then write: the shape of an upload's quota check and row.
      const [row] = await manager.query<Array<{ count: number }>>('SELECT count(*) AS count FROM rows');
      await manager.query('INSERT INTO rows (note) VALUES (?)', [`after ${row!.count}`]);
    };

    other.exec('BEGIN IMMEDIATE');
    other.prepare('INSERT INTO rows (note) VALUES (?)').run('held');
    await assert.rejects(turns.transaction(work), /SQLITE_BUSY|database is locked/);
    assert.equal(runs, 0, 'the work ran before the transaction had the write lock');
    other.exec('COMMIT');

    await turns.transaction(work);
    assert.equal(runs, 1);
    assert.deepEqual(other.prepare('SELECT note FROM rows ORDER BY id').all(), [{ note: 'held' }, { note: 'after 1' }]);
  });

  test('the shared query runner is left as it was: no wrapper piles up transaction after transaction', async () => {
    const turns = new WriteTurns(dataSource);
    // TypeORM's SQLite drivers hand out one shared runner.
    const runner = dataSource.createQueryRunner();
    const before = Object.getOwnPropertyDescriptor(runner, 'query');
    for (let index = 0; index < 3; index += 1) {
      await turns.transaction((manager) => manager.query('INSERT INTO rows (note) VALUES (?)', [`turn ${index}`]));
    }
    assert.equal(dataSource.createQueryRunner(), runner, 'one shared runner');
    assert.deepEqual(Object.getOwnPropertyDescriptor(runner, 'query'), before);
  });
});
