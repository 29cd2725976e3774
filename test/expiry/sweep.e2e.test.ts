// The scheduled sweep, the orphan sweep, and one sweeper per cluster.
import assert from 'node:assert/strict';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AttachmentStorage, AttachmentsSweeper } from '../../src/attachments/index.js';
import { demoConfigFromEnv } from '../../src/demo-config.js';
import { ageAttachments } from '../support/cli.js';
import { DATABASE_KINDS, createTestDatabase } from '../support/databases.js';
import { seedAttachments } from '../support/seed.js';
import { PLACEMENTS, startApp, type RunningApp } from '../support/test-app.js';
import { Visitor } from '../support/visitor.js';
import { waitFor } from '../support/wait-for.js';

const HOUR = 3600_000;

const storageOf = (running: RunningApp) => running.app.get<AttachmentStorage, AttachmentStorage>(AttachmentStorage);

for (const kind of DATABASE_KINDS) {
  for (const placement of PLACEMENTS) {
    describe(`scheduled sweep on ${kind}, ${placement.name}`, () => {
      let running: RunningApp;
      before(async () => {
        running = await startApp(kind, {
          attachments: { expireAfter: '1h', sweepEvery: 200, inlineMaxSize: placement.inlineMaxSize },
        });
      });
      after(() => running.close());

      test('removes attachments last written before expireAfter, with their bytes, and keeps the rest', async () => {
        const visitor = new Visitor(running.baseUrl);
        await visitor.upload('/attachments/sweep', [
          ['f', 'stale.txt', 'stale'],
          ['f', 'fresh.txt', 'fresh'],
        ]);
        await ageAttachments(running, 2 * HOUR, ['stale.txt']);
        assert.ok(await waitFor(async () => (await visitor.names('sweep')).length === 1), 'the stale file goes');
        assert.deepEqual(await visitor.names('sweep'), ['fresh.txt']);
        assert.equal(await running.heldFileCount(), 1);
      });

      test('a replaced file counts from its last write', async () => {
        const visitor = new Visitor(running.baseUrl);
        await visitor.upload('/attachments/rewrite', [['f', 'doc.txt', 'v1']]);
        await ageAttachments(running, 2 * HOUR, ['doc.txt']);
        // Re-uploading moves `updated`; a sweep must now leave it.
        await visitor.upload('/attachments/rewrite', [['f', 'doc.txt', 'v2']]);
        await running.app.get(AttachmentsSweeper).sweep();
        assert.equal(await visitor.text('/attachments/rewrite/doc.txt'), 'v2');
      });
    });

    describe(`orphan sweep on ${kind}, ${placement.name}`, () => {
      let running: RunningApp;
      before(async () => {
        running = await startApp(kind, { attachments: { inlineMaxSize: placement.inlineMaxSize } });
      });
      after(() => running.close());

      test('removes old unreferenced blobs and temporary files, never referenced or young ones', async () => {
        const visitor = new Visitor(running.baseUrl);
        await visitor.upload('/attachments/kept', [['f', 'a.txt', 'a']]);
        const old = new Date(Date.now() - 2 * HOUR);
        const blobFolder = join(running.attachmentsDirectory, 'blobs', 'ff');
        const tmpFolder = join(running.attachmentsDirectory, 'tmp');
        await mkdir(blobFolder, { recursive: true });
        await mkdir(tmpFolder, { recursive: true });
        const orphan = join(blobFolder, 'f'.repeat(32));
        const leftover = join(tmpFolder, `${'e'.repeat(32)}.part`);
        const young = join(blobFolder, `ff${'0'.repeat(30)}`);
        await writeFile(orphan, 'orphan');
        await writeFile(leftover, 'half an upload');
        await writeFile(young, 'a write whose row is about to commit');
        await utimes(orphan, old, old);
        await utimes(leftover, old, old);
        // The referenced blob is made old too: age alone must never remove it.
        for await (const object of storageOf(running).list()) {
          if (/^[0-9a-f]{32}$/.test(object.key) && !object.key.startsWith('ff')) {
            const path = join(running.attachmentsDirectory, 'blobs', object.key.slice(0, 2), object.key);
            await utimes(path, old, old);
          }
        }
        const removed = await running.app.get(AttachmentsSweeper).removeOrphans(HOUR);
        assert.equal(removed, 2);
        assert.equal(await running.temporaryCount(), 0);
        assert.equal(await running.heldFileCount(), 2, 'the referenced and the young blob stay');
        assert.equal(await visitor.text('/attachments/kept/a.txt'), 'a');
      });
    });
  }
}

describe('one sweeper per cluster (two instances, one PostgreSQL)', () => {
  let first: RunningApp;
  let second: RunningApp;
  before(async () => {
    const database = await createTestDatabase('postgres');
    first = await startApp('postgres', { database });
    second = await startApp('postgres', { database });
  });
  after(async () => {
    await first.close();
    await second.close();
    await first.database.drop();
  });

  test('while one instance sweeps, the other skips its round; then it may sweep again', async () => {
    await seedAttachments(first, 50, 48 * HOUR);
    const storage = storageOf(first) as AttachmentStorage & { deleteMany: (keys: readonly string[]) => Promise<string[]> };
    const realDeleteMany = storage.deleteMany.bind(storage);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    // Hold the first instance inside its sweep (in its blob deletes, a batch at a time on
    // DiskStorage) to make the rounds overlap.
    storage.deleteMany = async (keys) => {
      entered();
      await gate;
      return realDeleteMany(keys);
    };
    try {
      const firstRound = first.app.get(AttachmentsSweeper).sweep();
      await inside;
      const secondRound = await second.app.get(AttachmentsSweeper).sweep();
      assert.equal(secondRound, undefined, 'the second instance skipped');
      release();
      const report = await firstRound;
      assert.equal(report?.outdated.count, 50, 'the first instance swept everything');
    } finally {
      storage.deleteMany = realDeleteMany;
    }
    const later = await second.app.get(AttachmentsSweeper).sweep();
    assert.ok(later, 'the lock was released: the next round sweeps');
    assert.equal(later.outdated.count, 0);
  });
});

describe('demo configuration', () => {
  test('ATTACHMENTS_EXPIRE_AFTER and ATTACHMENTS_SWEEP_EVERY reach the module', () => {
    const config = demoConfigFromEnv({
      ATTACHMENTS_EXPIRE_AFTER: '3s',
      ATTACHMENTS_SWEEP_EVERY: '1s',
      DATABASE_PATH: 'var/test-config.sqlite',
    });
    assert.equal(config.expireAfter, '3s');
    assert.equal(config.sweepEvery, '1s');
  });
});
