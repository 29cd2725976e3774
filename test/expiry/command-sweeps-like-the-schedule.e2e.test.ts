// The remove-outdated-attachments command does what the scheduled sweep does: orphan blobs go
// too, and on PostgreSQL it sweeps only when no other instance holds the sweep lock.
import assert from 'node:assert/strict';
import { access, mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DataSource } from 'typeorm';
import { AttachmentStorage } from '../../src/attachments/index.js';
import { SWEEP_LOCK_NAMESPACE } from '../../src/attachments/persistence/sql-dialect.js';
import { ageAttachments, runCli } from '../support/cli.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { Visitor } from '../support/visitor.js';

const HOUR = 3600_000;
const DAY = 24 * HOUR;

const blobPath = (running: RunningApp, key: string) => join(running.attachmentsDirectory, 'blobs', key.slice(0, 2), key);
const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

/** A blob no row references, last written `age` ms ago (older than the 2h default grace period). */
async function writeOrphan(running: RunningApp, key: string, age = 3 * HOUR): Promise<string> {
  const path = blobPath(running, key);
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, 'bytes whose row never committed');
  const old = new Date(Date.now() - age);
  await utimes(path, old, old);
  return path;
}

/** Makes every blob the app's rows reference look old too: age alone must never remove one. */
async function ageReferencedBlobs(running: RunningApp, except: string[]): Promise<void> {
  const old = new Date(Date.now() - 3 * HOUR);
  for await (const object of running.app.get<AttachmentStorage, AttachmentStorage>(AttachmentStorage).list()) {
    if (/^[0-9a-f]{32}$/.test(object.key) && !except.includes(object.key)) {
      await utimes(blobPath(running, object.key), old, old);
    }
  }
}

for (const kind of DATABASE_KINDS) {
  describe(`remove-outdated-attachments and orphan blobs on ${kind}`, () => {
    let running: RunningApp;
    before(async () => {
      running = await startApp(kind);
    });
    after(() => running.close());

    test('removes old orphan blobs, keeps a referenced blob however old, and prints the count', async () => {
      const visitor = new Visitor(running.baseUrl);
      await visitor.upload('/attachments/orphans', [['f', 'kept.txt', 'kept']]);
      const orphanKey = `ab${'1'.repeat(30)}`;
      const youngKey = `ab${'2'.repeat(30)}`;
      await ageReferencedBlobs(running, [orphanKey, youngKey]);
      const orphan = await writeOrphan(running, orphanKey);
      const young = await writeOrphan(running, youngKey, 60_000);

      const dry = await runCli(running, ['remove-outdated-attachments', '--older-than=3', '--dry-run']);
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, /Would remove 0 attachment\(s\), 0 B, and 1 orphan blob\(s\)/);
      assert.ok(await exists(orphan), 'a dry run removes no orphan');

      const result = await runCli(running, ['remove-outdated-attachments', '--older-than=3']);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /Removed 0 attachment\(s\), 0 B, and 1 orphan blob\(s\)/);
      assert.equal(await exists(orphan), false, 'the old orphan is gone');
      assert.ok(await exists(young), 'an orphan younger than orphanGracePeriod stays (its row may be committing)');
      assert.equal(await visitor.text('/attachments/orphans/kept.txt'), 'kept', 'the referenced blob stays');
    });
  });
}

describe('remove-outdated-attachments while another instance sweeps (PostgreSQL)', () => {
  let running: RunningApp;
  before(async () => {
    running = await startApp('postgres');
  });
  after(() => running.close());

  test('with the sweep lock held elsewhere it removes nothing, says so and exits 75; once free it sweeps', async () => {
    const visitor = new Visitor(running.baseUrl);
    await visitor.upload('/attachments/locked', [['f', 'old.txt', 'old']]);
    await ageAttachments(running, 4 * DAY, ['old.txt']);
    const orphan = await writeOrphan(running, `cd${'3'.repeat(30)}`);
    const holder = running.app.get(DataSource).createQueryRunner();
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1, 0)', [SWEEP_LOCK_NAMESPACE]);
      const blocked = await runCli(running, ['remove-outdated-attachments', '--older-than=3']);
      assert.equal(blocked.code, 75, blocked.stderr);
      assert.match(blocked.stderr, /Another instance is sweeping \(it holds the sweep lock\): nothing removed/);
      assert.doesNotMatch(blocked.stdout, /Removed/);
      assert.deepEqual(await visitor.names('locked'), ['old.txt'], 'the outdated attachment stays');
      assert.ok(await exists(orphan), 'the orphan stays');
    } finally {
      await holder.query('SELECT pg_advisory_unlock($1, 0)', [SWEEP_LOCK_NAMESPACE]);
      await holder.release();
    }
    const free = await runCli(running, ['remove-outdated-attachments', '--older-than=3']);
    assert.equal(free.code, 0, free.stderr);
    assert.match(free.stdout, /Removed 1 attachment\(s\), 3 B, and 1 orphan blob\(s\)/);
    assert.deepEqual(await visitor.names('locked'), []);
    assert.equal(await exists(orphan), false);
  });
});
