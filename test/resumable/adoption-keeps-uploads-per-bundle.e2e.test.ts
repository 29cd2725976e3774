// A login adopts the anonymous session's unfinished uploads into the user, whose bundle of the
// same name may hold unfinished uploads already. The bundle then keeps at most `filesPerBundle`
// live unfinished uploads, as a creation would: the least recently written beyond that go, with
// their bytes, as a superseded upload does (their clients get 404). Two logins into one user at
// once end within the bound too (each adoption holds the user's lock while it counts).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { DataSource } from 'typeorm';
import { DATABASE_KINDS } from '../support/databases.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { UPLOAD_STRATEGIES, uploadRowsIn } from '../support/tus-requests.js';
import { createUpload, headUpload, patchUpload } from '../support/tus.js';
import { Visitor } from '../support/visitor.js';

const LIMIT = 3;
const LENGTH = 20_000;

/** Names of every file under the storage's folder (storage keys are file names). */
async function storedFiles(running: RunningApp): Promise<Set<string>> {
  const entries = await readdir(running.attachmentsDirectory, { recursive: true, withFileTypes: true }).catch(() => []);
  return new Set(entries.filter((entry) => entry.isFile()).map((entry) => entry.name));
}

for (const kind of DATABASE_KINDS) {
  for (const strategy of UPLOAD_STRATEGIES) {
    describe(`adoption of unfinished uploads into a bundle at its bound on ${kind} (${strategy.name})`, () => {
      let running: RunningApp;
      before(async () => {
        running = await startApp(kind, {
          partsOnDisk: strategy.partsOnDisk,
          attachments: { inlineMaxSize: 0, limits: { filesPerBundle: LIMIT } },
        });
      });
      after(() => running.close());

      /** Live unfinished upload rows of the bundle (bundle names are unique per test, so any owner's). */
      const uploadRows = (bundle: string) => uploadRowsIn(running.app.get(DataSource), bundle);

      /** The storage keys that hold an upload's bytes: its in-place object, its parts. */
      async function keysOf(location: string): Promise<string[]> {
        const id = location.split('/').at(-1)!;
        const rows = await running.app
          .get(DataSource)
          .query<Array<{ storage_key: string | null }>>(
            `SELECT storage_key FROM session_attachment_uploads WHERE id = '${id}' ` +
              `UNION SELECT storage_key FROM session_attachment_upload_parts WHERE upload_id = '${id}'`,
          );
        return rows.flatMap((row) => (row.storage_key === null ? [] : [row.storage_key]));
      }

      /** An unfinished upload with its first bytes stored. */
      async function started(visitor: Visitor, bundle: string, name: string): Promise<string> {
        const { response, location } = await createUpload(visitor, bundle, name, LENGTH);
        assert.equal(response.status, 201, `${name}: ${await response.text()}`);
        assert.equal((await patchUpload(visitor, location, 0, randomBytes(1000))).status, 204);
        return location;
      }

      const signedIn = async () => {
        const user = new Visitor(running.baseUrl);
        assert.equal((await user.post('/demo/login')).status, 200);
        return user;
      };

      test('the least recently written go, with their bytes; the others stay resumable', async () => {
        const bundle = 'kept-bound';
        const user = await signedIn();
        const older = [await started(user, bundle, 'a.bin'), await started(user, bundle, 'b.bin')];
        const visitor = new Visitor(running.baseUrl);
        const newer = [
          await started(visitor, bundle, 'c.bin'),
          await started(visitor, bundle, 'd.bin'),
          await started(visitor, bundle, 'e.bin'),
        ];
        // Written a minute before the others (moved back in time: no two can tie).
        const ids = older.map((location) => `'${location.split('/').at(-1)!}'`).join(', ');
        await running.app
          .get(DataSource)
          .query(`UPDATE session_attachment_uploads SET updated_at = updated_at - 60000 WHERE id IN (${ids})`);
        const olderKeys = (await Promise.all(older.map(keysOf))).flat();
        assert.equal(olderKeys.length, 2, 'each older upload has its bytes stored');

        assert.equal((await visitor.post('/demo/login')).status, 200);
        assert.equal(await uploadRows(bundle), LIMIT);
        for (const location of older) assert.equal((await headUpload(user, location)).status, 404, 'removed at the adoption');
        for (const location of newer) {
          const head = await headUpload(user, location);
          assert.equal(head.status, 200, 'adopted, resumable by the user');
          assert.equal(head.headers.get('upload-offset'), '1000');
        }
        const files = await storedFiles(running);
        for (const key of olderKeys) assert.equal(files.has(key), false, `the bytes of a removed upload are gone: ${key}`);
        // At the bound: a new name is refused, as it would be without an adoption.
        const refused = await createUpload(user, bundle, 'f.bin', LENGTH);
        assert.equal(refused.response.status, 400);
      });

      test('two logins into one user at once keep the bound', async () => {
        const bundle = 'two-logins';
        const visitors = [new Visitor(running.baseUrl), new Visitor(running.baseUrl)];
        for (const [index, visitor] of visitors.entries()) {
          await started(visitor, bundle, `${index}-a.bin`);
          await started(visitor, bundle, `${index}-b.bin`);
        }
        const logins = await Promise.all(visitors.map((visitor) => visitor.post('/demo/login')));
        assert.deepEqual(
          logins.map((response) => response.status),
          [200, 200],
        );
        assert.equal(await uploadRows(bundle), LIMIT);
      });
    });
  }
}
