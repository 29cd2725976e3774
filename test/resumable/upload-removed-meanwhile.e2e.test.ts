// An upload terminated (DELETE, as the stale-upload sweep removes one) while a PATCH of it is
// under way: that PATCH, a finish too, answers 404 upload_not_found (the upload is gone; a
// 409 would send the client to a HEAD that finds nothing), whatever of its bytes was already
// removed, and leaves nothing of the upload behind.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DATABASE_KINDS } from '../support/databases.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { createUpload, headUpload, patchUpload, TUS_RESUMABLE } from '../support/tus.js';
import { type PatchAnswer, streamingPatch, UPLOAD_STRATEGIES } from '../support/tus-requests.js';
import { Visitor } from '../support/visitor.js';
import { waitFor } from '../support/wait-for.js';

const LENGTH = 100_000;

/** Bytes in the storage's folders: a PATCH's bytes grow there (in place, or as a part in tmp/). */
async function storedBytes(running: RunningApp): Promise<number> {
  let total = 0;
  for (const folder of ['blobs', 'tmp']) {
    const path = join(running.attachmentsDirectory, folder);
    const entries = await readdir(path, { recursive: true, withFileTypes: true }).catch(() => []);
    for (const entry of entries) if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

function assertGone(answer: PatchAnswer | Error): void {
  if (answer instanceof Error) throw answer;
  assert.equal(answer.status, 404, answer.body);
  assert.equal((JSON.parse(answer.body) as { code: string }).code, 'upload_not_found');
}

for (const kind of DATABASE_KINDS) {
  for (const strategy of UPLOAD_STRATEGIES) {
    describe(`an upload removed while a PATCH runs on ${kind} (${strategy.name})`, () => {
      let running: RunningApp;
      /** The inspect hook waits on this for a file named held.bin, once `inspecting` resolved. */
      let hold: { inspecting: () => void; released: Promise<void> } | undefined;
      before(async () => {
        running = await startApp(kind, {
          partsOnDisk: strategy.partsOnDisk,
          attachments: {
            inlineMaxSize: 0,
            inspect: async ({ stream, name }) => {
              if (name === 'held.bin' && hold) {
                hold.inspecting();
                await hold.released;
              }
              for await (const _chunk of stream);
            },
          },
        });
      });
      after(() => running.close());

      /** Starts a PATCH of `content[offset, end)`, and resolves once its first bytes are being stored. */
      async function patchUnderWay(visitor: Visitor, location: string, content: Buffer, offset: number, end: number) {
        const before = await storedBytes(running);
        const patch = streamingPatch(running.baseUrl + location, visitor.cookie, offset, end - offset);
        await patch.write(content.subarray(offset, offset + 10_000));
        assert.ok(await waitFor(async () => (await storedBytes(running)) > before), 'its first bytes are being stored');
        return patch;
      }

      async function terminate(visitor: Visitor, location: string): Promise<void> {
        assert.equal((await visitor.request('DELETE', location, { headers: TUS_RESUMABLE })).status, 204);
      }

      test('a PATCH whose upload is terminated while its bytes arrive answers 404 upload_not_found', async () => {
        const visitor = new Visitor(running.baseUrl);
        const content = randomBytes(LENGTH);
        const blobs = await running.blobCount();
        const { location } = await createUpload(visitor, 'mid-patch', 'b.bin', LENGTH);
        // Not the last bytes: the PATCH's commit is the compare-and-set of the offset alone.
        const patch = await patchUnderWay(visitor, location, content, 0, 50_000);
        await terminate(visitor, location);
        await patch.write(content.subarray(10_000, 50_000));
        await patch.end();
        assertGone(await patch.answer);
        assert.equal(await running.blobCount(), blobs, 'none of its bytes stay');
        assert.equal(await running.temporaryCount(), 0);
      });

      test('a finish whose upload is terminated while the inspect hook runs is 404, and leaves nothing', async () => {
        const visitor = new Visitor(running.baseUrl);
        const content = randomBytes(LENGTH);
        const blobs = await running.blobCount();
        const { location } = await createUpload(visitor, 'mid-inspect', 'held.bin', LENGTH);
        assert.equal((await patchUpload(visitor, location, 0, content.subarray(0, 40_000))).status, 204);
        let release!: () => void;
        const inspecting = new Promise<void>((resolve) => {
          hold = { inspecting: resolve, released: new Promise<void>((done) => (release = done)) };
        });
        const last = streamingPatch(running.baseUrl + location, visitor.cookie, 40_000, LENGTH - 40_000);
        await last.write(content.subarray(40_000));
        await last.end();
        await inspecting;
        await terminate(visitor, location);
        release();
        hold = undefined;
        assertGone(await last.answer);
        assert.deepEqual(await visitor.names('mid-inspect'), []);
        assert.equal((await headUpload(visitor, location)).status, 404);
        assert.equal(await running.blobCount(), blobs, 'no blob, no part');
        assert.equal(await running.temporaryCount(), 0);
      });

      test('a finish whose bytes were removed before it read them is 404, not 500, and leaves nothing', async () => {
        const visitor = new Visitor(running.baseUrl);
        const content = randomBytes(LENGTH);
        const blobs = await running.blobCount();
        const { location } = await createUpload(visitor, 'before-finish', 'c.bin', LENGTH);
        assert.equal((await patchUpload(visitor, location, 0, content.subarray(0, 40_000))).status, 204);
        // The last PATCH is past its offset check when the upload and its bytes go; the finish
        // then reads what is left of them (the inspection, the joining of parts).
        const last = await patchUnderWay(visitor, location, content, 40_000, LENGTH);
        await terminate(visitor, location);
        await last.write(content.subarray(50_000));
        await last.end();
        assertGone(await last.answer);
        assert.deepEqual(await visitor.names('before-finish'), []);
        assert.equal(await running.blobCount(), blobs, 'no blob, no part');
        assert.equal(await running.temporaryCount(), 0);
      });
    });
  }
}
