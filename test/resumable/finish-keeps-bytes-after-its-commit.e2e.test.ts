// The last PATCH commits the attachment, then follows an adoption of its owner (the visitor signed
// in while it arrived). If that step fails (the database went away, the move was refused), the
// attachment is stored already: its bytes must stay, never a listed file without its bytes.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { DataSource } from 'typeorm';
import { DATABASE_KINDS } from '../support/databases.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { createUpload, headUpload, patchUpload } from '../support/tus.js';
import { Visitor } from '../support/visitor.js';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const BLOCKED = 'user:blocked';

for (const kind of DATABASE_KINDS) {
  describe(`a finish whose step after the commit fails on ${kind}`, () => {
    let running: RunningApp;
    let dataSource: DataSource;
    before(async () => {
      // Parts: the finish joins them into a new blob (and a one-part upload's part is its blob).
      running = await startApp(kind, { partsOnDisk: true, attachments: { inlineMaxSize: 0 } });
      dataSource = running.app.get(DataSource);
      // The database refuses to move attachments to BLOCKED: the adoption's move fails.
      if (kind === 'postgres') {
        await dataSource.query(
          `CREATE FUNCTION refuse_move() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$`,
        );
        await dataSource.query(
          `CREATE TRIGGER refuse_move BEFORE UPDATE OF session_key ON session_attachments FOR EACH ROW ` +
            `WHEN (NEW.session_key = '${BLOCKED}') EXECUTE FUNCTION refuse_move()`,
        );
      } else {
        await dataSource.query(
          `CREATE TRIGGER refuse_move BEFORE UPDATE OF session_key ON session_attachments ` +
            `WHEN NEW.session_key = '${BLOCKED}' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`,
        );
      }
    });
    after(() => running.close());

    /** Records that `BLOCKED` adopted the owner of the upload at `location` (as a sign-in does). */
    async function adoptedMeanwhile(location: string): Promise<void> {
      const [row] = await dataSource.query<Array<{ session_key: string }>>(
        `SELECT session_key FROM session_attachment_uploads WHERE id = '${location.split('/').pop()}'`,
      );
      await dataSource.query(
        `INSERT INTO session_attachment_adoptions (from_key, into_key, adopted_at) VALUES ('${row!.session_key}', '${BLOCKED}', ${Date.now()})`,
      );
    }

    for (const patches of [1, 3]) {
      test(`of ${patches} PATCH(es): the attachment it committed keeps its bytes`, async () => {
        const visitor = new Visitor(running.baseUrl);
        const bundle = `parts-${patches}`;
        const content = randomBytes(30_000);
        const blobs = await running.blobCount();
        const { location } = await createUpload(visitor, bundle, 'late.bin', content.byteLength);
        const size = content.byteLength / patches;
        for (let offset = 0; offset < content.byteLength - size; offset += size) {
          assert.equal((await patchUpload(visitor, location, offset, content.subarray(offset, offset + size))).status, 204);
        }
        await adoptedMeanwhile(location);
        const last = await patchUpload(visitor, location, content.byteLength - size, content.subarray(-size));
        assert.ok(last.status >= 500, `the step after the commit failed: ${last.status}`);
        assert.equal((await headUpload(visitor, location)).headers.get('upload-offset'), String(content.byteLength));
        assert.deepEqual(await visitor.names(bundle), ['late.bin'], 'the attachment was committed');
        const download = await visitor.get(`/attachments/${bundle}/late.bin`);
        assert.equal(download.status, 200, 'and keeps its bytes');
        assert.equal(sha256(Buffer.from(await download.arrayBuffer())), sha256(content));
        assert.equal(await running.blobCount(), blobs + 1, 'its blob, and no part left over');
      });
    }
  });
}
