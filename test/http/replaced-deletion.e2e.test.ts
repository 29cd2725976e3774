// A replacing upload answers once its own file is committed, without waiting for the old file's
// bytes to be deleted (an unlink of a big file is the kernel freeing its pages: hundreds of ms
// per GiB). The old bytes are unreachable from the commit on, are deleted right after, and the
// app waits for such deletions before it shuts down.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AttachmentsService, DiskStorage } from '../../src/attachments/index.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { countFiles, startApp, type RunningApp } from '../support/test-app.js';
import { Visitor } from '../support/visitor.js';

/** A DiskStorage whose deletions wait at a gate the test opens. */
class GatedDeletes extends DiskStorage {
  private gate: Promise<void> = Promise.resolve();
  private open: () => void = () => undefined;
  /** Keys whose deletion has been asked for, whether or not it has run. */
  readonly asked: string[] = [];

  close(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }

  release(): void {
    this.open();
  }

  override async delete(key: string): Promise<void> {
    this.asked.push(key);
    await this.gate;
    return super.delete(key);
  }
}

/** Blob files as they are now (RunningApp.blobCount would wait for the held deletions). */
const blobFiles = (directory: string) => countFiles(join(directory, 'blobs'));

/** Lets every callback and I/O completion that is ready run, a few times over. */
async function turns(count: number): Promise<void> {
  for (let turn = 0; turn < count; turn += 1) await new Promise((resolve) => setImmediate(resolve));
}

for (const kind of DATABASE_KINDS) {
  describe(`deleting replaced bytes, on ${kind}`, () => {
    let running: RunningApp;
    let storage: GatedDeletes;
    before(async () => {
      const directory = await mkdtemp(join(tmpdir(), 'attachments-gated-'));
      storage = new GatedDeletes({ directory });
      running = await startApp(kind, { attachments: { storage, inlineMaxSize: 0 }, attachmentsDirectory: directory });
    });
    after(async () => {
      storage.release();
      await running.close();
      await rm(running.attachmentsDirectory, { recursive: true, force: true });
    });

    test('the answer does not wait for the old bytes; they are deleted right after', { timeout: 60_000 }, async () => {
      const visitor = new Visitor(running.baseUrl);
      assert.equal((await visitor.upload('/attachments/draft', [['f', 'a.txt', 'first']])).status, 201);
      const blobs = await blobFiles(running.attachmentsDirectory);
      storage.close();
      // Were the answer to wait for the deletion, this would never resolve (the gate is shut).
      const replaced = await visitor.upload('/attachments/draft', [['f', 'a.txt', 'second']]);
      assert.equal(replaced.status, 201);
      assert.equal(storage.asked.length, 1, 'the deletion of the old bytes was asked for');
      assert.equal(await visitor.text('/attachments/draft/a.txt'), 'second', 'only the new bytes can be read');
      assert.equal(await blobFiles(running.attachmentsDirectory), blobs + 1, 'the old file waits at the gate');

      storage.release();
      await running.replacedDeleted();
      assert.equal(await blobFiles(running.attachmentsDirectory), blobs, 'then it is deleted');
    });

    test('shutting down waits for the deletions still running', async () => {
      const visitor = new Visitor(running.baseUrl);
      await visitor.upload('/attachments/closing', [['f', 'b.txt', 'first']]);
      const blobs = await blobFiles(running.attachmentsDirectory);
      storage.close();
      assert.equal((await visitor.upload('/attachments/closing', [['f', 'b.txt', 'second']])).status, 201);

      // What Nest calls before it closes the server and the database connection.
      let settled = false;
      const shutdown = running.app
        .get(AttachmentsService)
        .beforeApplicationShutdown()
        .then(() => (settled = true));
      await turns(20);
      assert.equal(settled, false, 'it waits while the deletion cannot finish');
      assert.equal(await blobFiles(running.attachmentsDirectory), blobs + 1);
      storage.release();
      await shutdown;
      assert.equal(await blobFiles(running.attachmentsDirectory), blobs, 'once it settles, the old file is gone');
    });
  });
}
