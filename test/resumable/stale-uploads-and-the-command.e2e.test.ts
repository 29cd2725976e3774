// The command sweeps as the schedule does: unfinished uploads past resumableExpireAfter go with
// their bytes, and the parts of uploads under way are never taken for orphans, however old.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DataSource } from 'typeorm';
import { runCli } from '../support/cli.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { createUpload, headUpload, patchUpload } from '../support/tus.js';
import { Visitor, type AttachmentBody } from '../support/visitor.js';

const HOUR = 3600_000;
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Every stored file looks written `milliseconds` ago: old enough for the orphan sweep. */
async function ageFiles(running: RunningApp, milliseconds: number): Promise<void> {
  const folder = join(running.attachmentsDirectory, 'blobs');
  const when = new Date(Date.now() - milliseconds);
  for (const entry of await readdir(folder, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) await utimes(join(entry.parentPath, entry.name), when, when);
  }
}

for (const kind of DATABASE_KINDS) {
  describe(`stale resumable uploads and remove-outdated-attachments on ${kind}`, () => {
    let running: RunningApp;
    before(async () => {
      running = await startApp(kind, { attachments: { inlineMaxSize: 0 } });
    });
    after(() => running.close());

    test('removes an upload untouched for resumableExpireAfter with its part, and keeps a live one however old its part', async () => {
      const visitor = new Visitor(running.baseUrl);
      const content = randomBytes(20_000);
      const stale = await createUpload(visitor, 'cli', 'stale.bin', 20_000);
      assert.equal((await patchUpload(visitor, stale.location, 0, content.subarray(0, 5000))).status, 204);
      const live = await createUpload(visitor, 'cli', 'live.bin', 20_000);
      assert.equal((await patchUpload(visitor, live.location, 0, content.subarray(0, 5000))).status, 204);
      const staleId = stale.location.split('/').pop()!;
      await running.app
        .get(DataSource)
        .query(`UPDATE session_attachment_uploads SET updated_at = updated_at - ${25 * HOUR} WHERE id = '${staleId}'`);
      await ageFiles(running, 3 * HOUR);
      assert.equal(await running.blobCount(), 2);

      const result = await runCli(running, ['remove-outdated-attachments', '--older-than=3']);
      assert.equal(result.code, 0, result.stderr);
      assert.match(
        result.stdout,
        /Removed 0 attachment\(s\), 0 B, and 0 orphan blob\(s\), and 1 unfinished resumable upload\(s\)/,
      );
      assert.equal(await running.blobCount(), 1, "the stale upload's part went with it");
      assert.equal((await headUpload(visitor, stale.location)).status, 404);
      assert.equal((await headUpload(visitor, live.location)).headers.get('upload-offset'), '5000');
      const done = await patchUpload(visitor, live.location, 5000, content.subarray(5000));
      assert.equal((JSON.parse(done.headers.get('attachment')!) as AttachmentBody).sha256, sha256(content));
    });
  });
}
