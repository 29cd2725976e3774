// A bundle holds at most `filesPerBundle` live unfinished uploads, each counted, same names too
// (each is a row and bytes of its own: counted by name, one session could make any number of
// unfinished `a.txt` uploads). At the limit, a new upload of a name the bundle has unfinished
// supersedes the oldest of them (a file of the same name replaces the old one): it goes with
// its bytes, as a terminated one. Without one of its name, the creation is refused bundle_full.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { DataSource } from 'typeorm';
import { DATABASE_KINDS } from '../support/databases.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { createTusUpload, UPLOAD_STRATEGIES, uploadRowsIn, tusPatch } from '../support/tus-requests.js';
import { createUpload, headUpload, patchUpload } from '../support/tus.js';
import { Visitor } from '../support/visitor.js';

const LIMIT = 3;
const LENGTH = 20_000;

const errorCode = async (response: Response) => ((await response.json()) as { code: string }).code;

/** Names of every file under the storage's folder (storage keys are file names). */
async function storedFiles(running: RunningApp): Promise<Set<string>> {
  const entries = await readdir(running.attachmentsDirectory, { recursive: true, withFileTypes: true }).catch(() => []);
  return new Set(entries.filter((entry) => entry.isFile()).map((entry) => entry.name));
}

for (const kind of DATABASE_KINDS) {
  for (const strategy of UPLOAD_STRATEGIES) {
    describe(`unfinished uploads per bundle on ${kind} (${strategy.name})`, () => {
      let running: RunningApp;
      let sql: <T>(text: string) => Promise<T[]>;
      before(async () => {
        running = await startApp(kind, {
          partsOnDisk: strategy.partsOnDisk,
          attachments: { inlineMaxSize: 0, limits: { filesPerBundle: LIMIT } },
        });
        const dataSource = running.app.get(DataSource);
        sql = <T>(text: string) => dataSource.query<T[]>(text);
      });
      after(() => running.close());

      /** Upload rows of the bundle (bundle names are unique per test, so any owner's). */
      const uploadRows = (bundle: string) => uploadRowsIn(running.app.get(DataSource), bundle);

      /** The storage keys that hold an upload's bytes: its in-place object, its parts. */
      async function keysOf(location: string): Promise<string[]> {
        const id = location.split('/').at(-1)!;
        const rows = await sql<{ storage_key: string | null }>(
          `SELECT storage_key FROM session_attachment_uploads WHERE id = '${id}' ` +
            `UNION SELECT storage_key FROM session_attachment_upload_parts WHERE upload_id = '${id}'`,
        );
        return rows.flatMap((row) => (row.storage_key === null ? [] : [row.storage_key]));
      }

      test('a new name past the limit of unfinished uploads is refused bundle_full, same names counted each', async () => {
        const visitor = new Visitor(running.baseUrl);
        for (let i = 0; i < LIMIT; i++) await createTusUpload(visitor, 'new-name', 'a.txt', LENGTH);
        const refused = await createUpload(visitor, 'new-name', 'b.txt', LENGTH);
        assert.equal(refused.response.status, 400);
        assert.equal(await errorCode(refused.response), 'bundle_full');
        assert.equal(refused.location, '');
        assert.equal(await uploadRows('new-name'), LIMIT);
      });

      test('more uploads of one name than the limit: the oldest is superseded with its bytes, the newest finishes', async () => {
        const visitor = new Visitor(running.baseUrl);
        const bundle = 'same-name';
        const oldest = await createTusUpload(visitor, bundle, 'a.txt', LENGTH);
        // Some of its bytes stored: they must go with it.
        assert.equal((await patchUpload(visitor, oldest, 0, randomBytes(LENGTH / 2))).status, 204);
        const oldestKeys = await keysOf(oldest);
        assert.ok(oldestKeys.length > 0, 'its bytes are in the storage');
        const files = await storedFiles(running);
        for (const key of oldestKeys) assert.ok(files.has(key), `${key} is stored`);

        const others: string[] = [];
        for (let i = 1; i < LIMIT; i++) others.push(await createTusUpload(visitor, bundle, 'a.txt', LENGTH));
        const newest = await createTusUpload(visitor, bundle, 'a.txt', LENGTH);
        assert.equal(await uploadRows(bundle), LIMIT, 'the bundle keeps as many uploads as the limit');

        assert.equal((await headUpload(visitor, oldest)).status, 404, 'HEAD of the superseded upload');
        const patch = await patchUpload(visitor, oldest, LENGTH / 2, randomBytes(LENGTH / 2));
        assert.equal(patch.status, 404);
        assert.equal(await errorCode(patch), 'upload_not_found');
        const left = await storedFiles(running);
        for (const key of oldestKeys) assert.ok(!left.has(key), `${key} is gone from the storage`);
        for (const location of others) assert.equal((await headUpload(visitor, location)).status, 200, 'the others stay');

        // More of them: always the oldest goes, never more than the limit stay.
        for (let i = 0; i < LIMIT; i++) await createTusUpload(visitor, bundle, 'a.txt', LENGTH);
        assert.equal(await uploadRows(bundle), LIMIT);
        for (const location of others) assert.equal((await headUpload(visitor, location)).status, 404);
        assert.equal((await headUpload(visitor, newest)).status, 404);

        const last = await createTusUpload(visitor, bundle, 'a.txt', LENGTH);
        const content = randomBytes(LENGTH);
        const done = await tusPatch(running.baseUrl + last, visitor.cookie, 0, content);
        assert.equal(done.status, 204, done.body);
        assert.equal(done.attachment?.size, LENGTH);
        assert.deepEqual(await visitor.names(bundle), ['a.txt']);
      });

      test('creations at once at the limit never leave more uploads than the limit', async () => {
        const visitor = new Visitor(running.baseUrl);
        const bundle = 'at-once';
        for (let i = 0; i < LIMIT; i++) await createTusUpload(visitor, bundle, 'a.txt', LENGTH);
        for (let round = 0; round < 3; round++) {
          const answers = await Promise.all([
            createUpload(visitor, bundle, 'a.txt', LENGTH),
            createUpload(visitor, bundle, 'a.txt', LENGTH),
            createUpload(visitor, bundle, 'b.txt', LENGTH),
            createUpload(visitor, bundle, 'c.txt', LENGTH),
          ]);
          const [first, second] = answers;
          assert.equal(first.response.status, 201, 'a same name always finds one to supersede');
          assert.equal(second.response.status, 201);
          for (const { response } of answers.slice(2)) {
            if (response.status !== 201) {
              assert.equal(response.status, 400);
              assert.equal(await errorCode(response), 'bundle_full');
            }
          }
          assert.ok((await uploadRows(bundle)) <= LIMIT, `at most ${LIMIT} uploads after round ${round}`);
        }
      });
    });
  }
}
