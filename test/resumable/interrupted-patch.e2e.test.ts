// A client that goes away mid-PATCH (a train into a tunnel): the bytes that arrived are kept,
// HEAD reports them, and the upload resumes from there to the right content.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DATABASE_KINDS } from '../support/databases.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { createUpload, headUpload, patchUpload, TUS_RESUMABLE } from '../support/tus.js';
import { Visitor, type AttachmentBody } from '../support/visitor.js';
import { waitFor } from '../support/wait-for.js';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Bytes in the storage's temporary files: what a PATCH being written holds so far. */
async function temporaryBytes(running: RunningApp): Promise<number> {
  const folder = join(running.attachmentsDirectory, 'tmp');
  const names = await readdir(folder).catch(() => []);
  const sizes = await Promise.all(
    names.map((name) =>
      stat(join(folder, name)).then(
        (file) => file.size,
        () => 0,
      ),
    ),
  );
  return sizes.reduce((total, size) => total + size, 0);
}

for (const kind of DATABASE_KINDS) {
  describe(`an interrupted PATCH on ${kind}`, () => {
    let running: RunningApp;
    before(async () => {
      running = await startApp(kind, { partsOnDisk: true, attachments: { inlineMaxSize: 0 } });
    });
    after(() => running.close());

    test('keeps the bytes that arrived before the client went away, and resumes to the right sha256', async () => {
      const visitor = new Visitor(running.baseUrl);
      const content = randomBytes(2_000_000);
      const { location } = await createUpload(visitor, 'tunnel', 'video.mp4', content.byteLength);
      const { hostname, port } = new URL(running.baseUrl);
      const request = httpRequest({
        hostname,
        port,
        path: location,
        method: 'PATCH',
        headers: {
          ...TUS_RESUMABLE,
          cookie: visitor.cookie!,
          'content-type': 'application/offset+octet-stream',
          'upload-offset': '0',
          'content-length': String(content.byteLength),
        },
      });
      request.on('error', () => undefined);
      const sent = 750_000;
      request.write(content.subarray(0, sent));
      assert.ok(await waitFor(async () => (await temporaryBytes(running)) === sent), 'the server has what was sent');
      request.destroy();
      assert.ok(
        await waitFor(async () => (await headUpload(visitor, location)).headers.get('upload-offset') === String(sent)),
        'HEAD reports the bytes that arrived',
      );
      assert.deepEqual(await visitor.names('tunnel'), []);
      const resumed = await patchUpload(visitor, location, sent, content.subarray(sent));
      assert.equal(resumed.status, 204, await resumed.text());
      const attachment = JSON.parse(resumed.headers.get('attachment')!) as AttachmentBody;
      assert.equal(attachment.sha256, sha256(content));
      const downloaded = Buffer.from(await (await visitor.get(attachment.url)).arrayBuffer());
      assert.equal(sha256(downloaded), sha256(content));
      assert.equal(await running.blobCount(), 1);
    });
  });
}

for (const kind of DATABASE_KINDS) {
  describe(`a stalled PATCH on ${kind}`, () => {
    let running: RunningApp;
    before(async () => {
      running = await startApp(kind, { attachments: { inlineMaxSize: 0, uploadIdleTimeout: 300 } });
    });
    after(() => running.close());

    test('is cut off after uploadIdleTimeout with 408, and the bytes that arrived count', async () => {
      const visitor = new Visitor(running.baseUrl);
      const content = randomBytes(400_000);
      const { location } = await createUpload(visitor, 'stall', 'slow.bin', content.byteLength);
      const { hostname, port } = new URL(running.baseUrl);
      const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
        const request = httpRequest(
          {
            hostname,
            port,
            path: location,
            method: 'PATCH',
            headers: {
              ...TUS_RESUMABLE,
              cookie: visitor.cookie!,
              'content-type': 'application/offset+octet-stream',
              'upload-offset': '0',
              'content-length': String(content.byteLength),
            },
          },
          (response) => {
            let body = '';
            response.setEncoding('utf8');
            response.on('data', (chunk: string) => (body += chunk));
            response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
          },
        );
        request.on('error', reject);
        // Half the body, then nothing: the client stalls.
        request.write(content.subarray(0, 100_000));
      });
      const { status, body } = await answer;
      assert.equal(status, 408);
      assert.equal((JSON.parse(body) as { code: string }).code, 'upload_timeout');
      assert.equal((await headUpload(visitor, location)).headers.get('upload-offset'), '100000');
      const resumed = await patchUpload(visitor, location, 100_000, content.subarray(100_000));
      assert.equal((JSON.parse(resumed.headers.get('attachment')!) as AttachmentBody).sha256, sha256(content));
    });
  });
}
