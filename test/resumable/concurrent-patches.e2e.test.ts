// Two PATCHes from the same offset at once: the compare-and-set on the offset lets exactly one
// count, on any database, and the other's bytes are deleted.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { DATABASE_KINDS } from '../support/databases.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { createUpload, headUpload, patchUpload, TUS_RESUMABLE } from '../support/tus.js';
import { Visitor, type AttachmentBody } from '../support/visitor.js';
import { waitFor } from '../support/wait-for.js';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** A PATCH whose headers and first bytes are sent now, and whose rest waits for `finish`. */
function startPatch(baseUrl: string, visitor: Visitor, path: string, offset: number, length: number) {
  const { hostname, port } = new URL(baseUrl);
  let request!: ClientRequest;
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    request = httpRequest(
      {
        hostname,
        port,
        path,
        method: 'PATCH',
        headers: {
          ...TUS_RESUMABLE,
          cookie: visitor.cookie!,
          'content-type': 'application/offset+octet-stream',
          'upload-offset': String(offset),
          'content-length': String(length),
        },
      },
      resolve,
    );
    request.on('error', reject);
  });
  return { request, response };
}

for (const kind of DATABASE_KINDS) {
  describe(`concurrent PATCHes on ${kind}`, () => {
    let running: RunningApp;
    before(async () => {
      running = await startApp(kind, { partsOnDisk: true, attachments: { inlineMaxSize: 0 } });
    });
    after(() => running.close());

    test('two PATCHes at the same offset at once: exactly one counts, the other is 409 and its bytes go', async () => {
      const visitor = new Visitor(running.baseUrl);
      const content = randomBytes(200_000);
      const { location } = await createUpload(visitor, 'race', 'race.bin', content.byteLength);
      assert.equal((await patchUpload(visitor, location, 0, content.subarray(0, 50_000))).status, 204);
      const blobs = await running.blobCount();
      // Both get past the offset check and start writing before either ends.
      const racers = [
        startPatch(running.baseUrl, visitor, location, 50_000, 50_000),
        startPatch(running.baseUrl, visitor, location, 50_000, 50_000),
      ];
      for (const racer of racers) racer.request.write(content.subarray(50_000, 60_000));
      assert.ok(await waitFor(async () => (await running.temporaryCount()) === 2), 'both are being written');
      for (const racer of racers) racer.request.end(content.subarray(60_000, 100_000));
      const statuses = await Promise.all(
        racers.map(async (racer) => {
          const response = await racer.response;
          response.resume();
          return response.statusCode;
        }),
      );
      assert.deepEqual(statuses.sort(), [204, 409]);
      assert.equal((await headUpload(visitor, location)).headers.get('upload-offset'), '100000');
      assert.equal(await running.blobCount(), blobs + 1, "the loser's part is deleted");
      assert.equal(await running.temporaryCount(), 0);
      const last = await patchUpload(visitor, location, 100_000, content.subarray(100_000));
      assert.equal((JSON.parse(last.headers.get('attachment')!) as AttachmentBody).sha256, sha256(content));
    });

    test('two final PATCHes at once make one attachment', async () => {
      const visitor = new Visitor(running.baseUrl);
      const content = randomBytes(100_000);
      const blobs = await running.blobCount();
      const { location } = await createUpload(visitor, 'race-end', 'end.bin', content.byteLength);
      assert.equal((await patchUpload(visitor, location, 0, content.subarray(0, 40_000))).status, 204);
      const racers = [
        startPatch(running.baseUrl, visitor, location, 40_000, 60_000),
        startPatch(running.baseUrl, visitor, location, 40_000, 60_000),
      ];
      for (const racer of racers) racer.request.write(content.subarray(40_000, 50_000));
      assert.ok(await waitFor(async () => (await running.temporaryCount()) === 2), 'both are being written');
      for (const racer of racers) racer.request.end(content.subarray(50_000));
      const answers = await Promise.all(
        racers.map(async (racer) => {
          const response = await racer.response;
          response.resume();
          return { status: response.statusCode, attachment: response.headers.attachment };
        }),
      );
      assert.deepEqual(answers.map((answer) => answer.status).sort(), [204, 409]);
      const winner = answers.find((answer) => answer.status === 204)!;
      assert.equal((JSON.parse(String(winner.attachment)) as AttachmentBody).sha256, sha256(content));
      assert.deepEqual(await visitor.names('race-end'), ['end.bin']);
      assert.equal(await running.blobCount(), blobs + 1, 'the blob, and no part left');
      assert.equal(await running.temporaryCount(), 0);
    });
  });
}
