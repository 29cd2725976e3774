// The orphan sweep asks which candidate blobs a row references. A resumable upload's finish
// moves its object from the uploads table to the attachments table in one transaction; if that
// commits while the sweep is asking, the sweep must still see the key in one of them, or it
// deletes the bytes of a file it has just acknowledged. Here the finish commits, on another
// instance, right after the sweep's look-up among the attachments, on every database. And on
// SQLite, where one process's requests share one connection, the sweep's look-up must not run
// inside the finish's open transaction, whose uncommitted rows it would see.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DataSource } from 'typeorm';
import { AttachmentsSweeper } from '../../src/attachments/expiry/attachments-sweeper.js';
import { AttachmentStorage } from '../../src/attachments/index.js';
import { WriteTurns } from '../../src/attachments/persistence/write-turns.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../support/databases.js';
import { afterStatement } from '../support/statement-hook.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { createUpload, patchUpload } from '../support/tus.js';
import { Visitor } from '../support/visitor.js';

const HOUR = 3600_000;
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Makes the in-place object of the upload at `location` older than orphanGracePeriod (a paused upload's). */
async function ageUploadObject(running: RunningApp, location: string): Promise<void> {
  const [upload] = await running.app
    .get(DataSource)
    .query<Array<{ storage_key: string }>>(
      `SELECT storage_key FROM session_attachment_uploads WHERE id = '${location.split('/').pop()}'`,
    );
  const key = upload!.storage_key;
  const old = new Date(Date.now() - 3 * HOUR);
  await utimes(join(running.attachmentsDirectory, 'blobs', key.slice(0, 2), key), old, old);
}
/** The finish's step that marks the upload finished, inside the transaction that writes its attachment. */
const marksFinished = (sql: string) => /UPDATE "session_attachment_uploads" SET[\s\S]*finished_at = /.test(sql);
/** The sweep's look-up of candidate keys among the attachments (alone or with other tables). */
const looksUpAttachments = (sql: string) => /FROM "session_attachments"[\s\S]*storage_key"? IN \(/.test(sql);

for (const kind of DATABASE_KINDS) {
  describe(`the orphan sweep while a resumable upload finishes, on ${kind}`, () => {
    let database: TestDatabase;
    let attachmentsDirectory: string;
    let serving: RunningApp;
    let sweeping: RunningApp;
    before(async () => {
      database = await createTestDatabase(kind);
      attachmentsDirectory = await mkdtemp(join(tmpdir(), 'attachments-shared-'));
      // Files in the storage, uploads growing in place (the disk storage's strategy): the
      // upload's object becomes the attachment's blob as it is.
      const attachments = { inlineMaxSize: 0 };
      serving = await startApp(kind, { database, attachmentsDirectory, attachments });
      sweeping = await startApp(kind, { database, attachmentsDirectory, attachments });
    });
    after(async () => {
      await sweeping.close();
      await serving.close();
      await database.drop();
      await rm(attachmentsDirectory, { recursive: true, force: true });
    });

    test('an upload that finishes between its look-ups keeps its bytes', async () => {
      const visitor = new Visitor(serving.baseUrl);
      const content = randomBytes(50_000);
      const { location } = await createUpload(visitor, 'late', 'report.bin', content.byteLength);
      assert.equal((await patchUpload(visitor, location, 0, content.subarray(0, 20_000))).status, 204);
      // Paused for longer than orphanGracePeriod: its object is old, referenced only by the upload.
      await ageUploadObject(serving, location);

      const finished = afterStatement(sweeping.app.get(DataSource), looksUpAttachments, () =>
        patchUpload(visitor, location, 20_000, content.subarray(20_000)),
      );
      const removed = await sweeping.app.get(AttachmentsSweeper).removeOrphans(HOUR);
      assert.ok(finished.fired(), 'the sweep looked the keys up among the attachments');
      assert.equal((await finished.result).status, 204, 'the finish committed during the sweep');
      assert.equal(removed, 0, 'no blob was an orphan');
      const download = await visitor.get('/attachments/late/report.bin');
      assert.equal(download.status, 200, 'the acknowledged file keeps its bytes');
      assert.equal(sha256(Buffer.from(await download.arrayBuffer())), sha256(content));
    });
  });
}

describe('the orphan sweep while a finish of the same process is in its transaction, on sqlite', () => {
  let running: RunningApp;
  before(async () => {
    running = await startApp('sqlite', { attachments: { inlineMaxSize: 0 } });
  });
  after(() => running.close());

  test("the sweep's look-up waits for the transaction and the upload keeps its bytes", async () => {
    const visitor = new Visitor(running.baseUrl);
    const content = randomBytes(50_000);
    const { location } = await createUpload(visitor, 'late', 'report.bin', content.byteLength);
    assert.equal((await patchUpload(visitor, location, 0, content.subarray(0, 20_000))).status, 204);
    await ageUploadObject(running, location);

    // The sweep starts first and is held once it has listed the storage, before it asks the
    // database which of the objects are referenced.
    const storage = running.app.get<AttachmentStorage, AttachmentStorage>(AttachmentStorage);
    const list = storage.list.bind(storage);
    let listed!: () => void;
    const wasListed = new Promise<void>((resolve) => (listed = resolve));
    let letGo!: () => void;
    const goOn = new Promise<void>((resolve) => (letGo = resolve));
    storage.list = async function* () {
      yield* list();
      listed();
      await goOn;
    };
    const sweep = running.app.get(AttachmentsSweeper).removeOrphans(HOUR);
    await wasListed;

    // The finish marks the upload finished; before it writes the attachment, the sweep goes on,
    // and the transaction stays open until the sweep is done or waits for its turn to write
    // (in which case its look-up runs after the commit).
    const turns = running.app.get(WriteTurns);
    const statement = turns.statement.bind(turns);
    let askedTurn!: () => void;
    const turnAsked = new Promise<void>((resolve) => (askedTurn = resolve));
    const finished = afterStatement(running.app.get(DataSource), marksFinished, async () => {
      turns.statement = (work) => {
        askedTurn();
        return statement(work);
      };
      letGo();
      await Promise.race([sweep, turnAsked]);
    });
    const last = await patchUpload(visitor, location, 20_000, content.subarray(20_000));
    assert.ok(finished.fired(), 'the finish marked the upload finished');
    await finished.result;
    assert.equal(last.status, 204);
    assert.equal(await sweep, 0, 'no blob was an orphan');
    const download = await visitor.get('/attachments/late/report.bin');
    assert.equal(download.status, 200, 'the acknowledged file keeps its bytes');
    assert.equal(sha256(Buffer.from(await download.arrayBuffer())), sha256(content));
  });
});
