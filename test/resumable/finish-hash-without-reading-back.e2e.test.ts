// A tus upload's finish needs its sha256. The instance that served every PATCH hashed the bytes
// on their way in, so it reads nothing back; one that did not (another instance took a PATCH, a
// restart came between) reads the blob for it. Either way the sha256 is the file's. Proven by
// the storage's reads of the upload's blob, on both databases, in place and in parts.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DataSource } from 'typeorm';
import { DATABASE_KINDS, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { partsOnly } from '../support/parts-only-storage.js';
import { ReadCountingDiskStorage } from '../support/read-counting-storage.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { chunkedPatch, createTusUpload, streamingPatch, tusOffset, tusPatch, type PatchAnswer } from '../support/tus-requests.js';
import { Visitor } from '../support/visitor.js';
import { waitFor } from '../support/wait-for.js';

const MiB = 1024 * 1024;
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

interface Instance {
  running: RunningApp;
  storage: ReadCountingDiskStorage;
}

for (const kind of DATABASE_KINDS) {
  describe(`the sha256 at a tus upload's finish, ${kind}`, () => {
    let database: TestDatabase;
    /** Sessions in PostgreSQL, so that one cookie works on every instance and after a restart. */
    let sessions: TestDatabase;
    let directory: string;
    const instances: Instance[] = [];
    before(async () => {
      database = await createTestDatabase(kind);
      sessions = kind === 'postgres' ? database : await createTestDatabase('postgres');
      directory = await mkdtemp(join(tmpdir(), 'attachments-finish-hash-'));
    });
    after(async () => {
      for (const instance of instances) await instance.running.close();
      await database.drop();
      if (sessions !== database) await sessions.drop();
      await rm(directory, { recursive: true, force: true });
    });

    /** One more instance of the app on the same database, files and sessions. */
    async function start(options: { parts?: boolean } = {}): Promise<Instance> {
      const storage = new ReadCountingDiskStorage({ directory });
      const running = await startApp(kind, {
        database,
        attachmentsDirectory: directory,
        sessionStore: { kind: 'postgres', url: sessions.env.DATABASE_URL! },
        attachments: { inlineMaxSize: 0, storage: options.parts ? partsOnly(storage) : storage },
      });
      const instance = { running, storage };
      instances.push(instance);
      return instance;
    }

    async function stop(instance: Instance): Promise<void> {
      instances.splice(instances.indexOf(instance), 1);
      await instance.running.close();
    }

    /** The blob of the attachment `name` (in place, the object the PATCHes wrote into). */
    async function blobOf(instance: Instance, name: string): Promise<string> {
      const [row] = await instance.running.app
        .get(DataSource)
        .query<Array<{ storage_key: string }>>(`SELECT storage_key FROM session_attachments WHERE name = '${name}'`);
      assert.ok(row, `${name} is an attachment`);
      return row.storage_key;
    }

    /** The visitor's file `name` as downloaded, hashed. */
    async function downloaded(visitor: Visitor, bundle: string, name: string): Promise<string> {
      const response = await visitor.get(`/attachments/${bundle}/${name}`);
      assert.equal(response.status, 200);
      return sha256(new Uint8Array(await response.arrayBuffer()));
    }

    /** Sends `file` from `from` in PATCHes of `size`, each to the instance `at(i)` names; resolves the last answer. */
    async function sendFrom(
      at: (i: number) => Instance,
      visitor: Visitor,
      path: string,
      file: Buffer,
      from: number,
      size: number,
    ): Promise<PatchAnswer> {
      let answer: PatchAnswer | undefined;
      for (let start = from, i = 0; start < file.length; start += size, i += 1) {
        answer = await tusPatch(at(i).running.baseUrl + path, visitor.cookie, start, file.subarray(start, start + size));
        assert.equal(answer.status, 204, answer.body);
      }
      return answer!;
    }

    test('every PATCH on one instance: the finish reads nothing back, and the sha256 is the file’s', async () => {
      const one = await start();
      const visitor = new Visitor(one.running.baseUrl);
      const file = randomBytes(3 * MiB + 12_345);
      const path = await createTusUpload(visitor, 'alone', 'alone.bin', file.length);
      const done = await sendFrom(() => one, visitor, path, file, 0, MiB);
      assert.equal(done.attachment?.sha256, sha256(file));
      assert.equal(one.storage.readsOf(await blobOf(one, 'alone.bin')), 0, 'the blob is not read at the finish');
      assert.equal(await downloaded(visitor, 'alone', 'alone.bin'), sha256(file));
      await stop(one);
    });

    test('PATCHes alternating between two instances on one database: the finish reads the blob back, and the sha256 is the file’s', async () => {
      const one = await start();
      const two = await start();
      const visitor = new Visitor(one.running.baseUrl);
      const file = randomBytes(4 * MiB + 7);
      const path = await createTusUpload(visitor, 'alternate', 'alternate.bin', file.length);
      const done = await sendFrom((i) => (i % 2 === 0 ? one : two), visitor, path, file, 0, MiB);
      assert.equal(done.attachment?.sha256, sha256(file));
      const blob = await blobOf(one, 'alternate.bin');
      assert.equal(
        one.storage.readsOf(blob),
        1,
        'the instance that served the last PATCH (the fifth) read the blob for its hash',
      );
      assert.equal(two.storage.readsOf(blob), 0);
      assert.equal(await downloaded(visitor, 'alternate', 'alternate.bin'), sha256(file));

      // Back on the first instance after one PATCH elsewhere: what it hashed before is stale.
      const again = randomBytes(3 * MiB + 1);
      const path2 = await createTusUpload(visitor, 'alternate', 'back.bin', again.length);
      const back = await sendFrom((i) => (i === 1 ? two : one), visitor, path2, again, 0, MiB);
      assert.equal(back.attachment?.sha256, sha256(again));
      assert.equal(one.storage.readsOf(await blobOf(one, 'back.bin')), 1, 'read back: the second PATCH was not hashed here');
      await stop(two);
      await stop(one);
    });

    test('a PATCH cut midway, then resumed from the offset HEAD gives: the finish still reads nothing back, and the sha256 is the file’s', async () => {
      const one = await start();
      const visitor = new Visitor(one.running.baseUrl);
      const file = randomBytes(3 * MiB);
      const path = await createTusUpload(visitor, 'cut', 'cut.bin', file.length);
      assert.equal((await tusPatch(one.running.baseUrl + path, visitor.cookie, 0, file.subarray(0, MiB))).status, 204);
      const cut = streamingPatch(one.running.baseUrl + path, visitor.cookie, MiB, 2 * MiB);
      await cut.write(file.subarray(MiB, MiB + MiB / 2));
      cut.destroy();
      let offset = MiB;
      assert.ok(
        await waitFor(async () => {
          offset = (await tusOffset(visitor, path)).offset ?? MiB;
          return offset > MiB;
        }),
        'the bytes that arrived count',
      );
      assert.ok(offset < file.length);
      const done = await tusPatch(one.running.baseUrl + path, visitor.cookie, offset, file.subarray(offset));
      assert.equal(done.status, 204, done.body);
      assert.equal(done.attachment?.sha256, sha256(file));
      assert.equal(one.storage.readsOf(await blobOf(one, 'cut.bin')), 0, 'the cut PATCH’s bytes were hashed as they were stored');
      assert.equal(await downloaded(visitor, 'cut', 'cut.bin'), sha256(file));
      await stop(one);
    });

    test('a PATCH refused for bytes past the length counts nothing: the PATCH that follows from its offset finishes without reading back, with the file’s sha256', async () => {
      const one = await start();
      const visitor = new Visitor(one.running.baseUrl);
      const file = randomBytes(2 * MiB);
      const path = await createTusUpload(visitor, 'refused', 'refused.bin', file.length);
      const url = one.running.baseUrl + path;
      assert.equal((await tusPatch(url, visitor.cookie, 0, file.subarray(0, MiB))).status, 204);
      // Other bytes, and too many: those written into the blob before the refusal must not count.
      const status = await chunkedPatch(url, visitor.cookie, MiB, randomBytes(MiB + 1));
      assert.equal(status, 413);
      assert.equal((await tusOffset(visitor, path)).offset, MiB);
      const done = await tusPatch(url, visitor.cookie, MiB, file.subarray(MiB));
      assert.equal(done.status, 204, done.body);
      assert.equal(done.attachment?.sha256, sha256(file));
      assert.equal(one.storage.readsOf(await blobOf(one, 'refused.bin')), 0);
      assert.equal(await downloaded(visitor, 'refused', 'refused.bin'), sha256(file));
      await stop(one);
    });

    test('a restart between two PATCHes: the new instance reads the blob back at the finish, and the sha256 is the file’s', async () => {
      const first = await start();
      const visitor = new Visitor(first.running.baseUrl);
      const file = randomBytes(2 * MiB + 99);
      const path = await createTusUpload(visitor, 'restart', 'restart.bin', file.length);
      assert.equal((await tusPatch(first.running.baseUrl + path, visitor.cookie, 0, file.subarray(0, MiB))).status, 204);
      await stop(first);
      const second = await start();
      const done = await sendFrom(() => second, visitor, path, file, MiB, MiB);
      assert.equal(done.attachment?.sha256, sha256(file));
      assert.equal(second.storage.readsOf(await blobOf(second, 'restart.bin')), 1);
      const again = new Visitor(second.running.baseUrl);
      again.cookie = visitor.cookie;
      assert.equal(await downloaded(again, 'restart', 'restart.bin'), sha256(file));
      await stop(second);
    });

    test('in parts: an upload of one PATCH keeps that part as its blob without reading it; one of several is joined, with the file’s sha256', async () => {
      const one = await start({ parts: true });
      const visitor = new Visitor(one.running.baseUrl);
      const single = randomBytes(MiB + 3);
      const path = await createTusUpload(visitor, 'parts', 'single.bin', single.length);
      const done = await sendFrom(() => one, visitor, path, single, 0, single.length);
      assert.equal(done.attachment?.sha256, sha256(single));
      assert.equal(one.storage.readsOf(await blobOf(one, 'single.bin')), 0, 'the one part is not read at the finish');

      const several = randomBytes(3 * MiB + 5);
      const path2 = await createTusUpload(visitor, 'parts', 'several.bin', several.length);
      const joined = await sendFrom(() => one, visitor, path2, several, 0, MiB);
      assert.equal(joined.attachment?.sha256, sha256(several));
      assert.equal(await downloaded(visitor, 'parts', 'several.bin'), sha256(several));
      assert.equal(await downloaded(visitor, 'parts', 'single.bin'), sha256(single));
      await stop(one);
    });
  });
}
