// The inspect hook sees each file after its bytes are stored and before its row commits: it
// accepts, refuses (422 file_rejected, its message), fails (503 inspection_unavailable) or runs
// out of time (503); a refused or failed request stores nothing at all.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { after, before, beforeEach, describe, test } from 'node:test';
import { AttachmentRejected, type InspectHook } from '../../src/attachments/index.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { Visitor } from '../support/visitor.js';

// The EICAR anti-virus test file: harmless, and recognised as a "virus" by every scanner.
const EICAR = String.raw`X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`;

interface Seen {
  name: string;
  mimetype: string;
  size: number;
  sha256: string;
  contentSha256: string;
  storedRows: number;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

for (const kind of DATABASE_KINDS) {
  describe(`inspect hook on ${kind}`, () => {
    let running: RunningApp;
    const seen: Seen[] = [];
    // A scanner in miniature: refuses EICAR, fails on a name that stands for "scanner down".
    const scanner: InspectHook = async (file) => {
      const content = await readAll(file.stream);
      seen.push({
        name: file.name,
        mimetype: file.mimetype,
        size: file.size,
        sha256: file.sha256,
        contentSha256: createHash('sha256').update(content).digest('hex'),
        storedRows: await running.rowCount(),
      });
      if (file.name === 'scanner-down.txt') throw new Error('connect ECONNREFUSED /var/run/clamav/clamd.ctl');
      if (content.includes(EICAR)) throw new AttachmentRejected('The file contains a virus (Eicar-Test-Signature)');
    };
    before(async () => {
      running = await startApp(kind, { attachments: { inspect: scanner } });
    });
    after(() => running.close());
    beforeEach(() => {
      seen.length = 0;
    });

    test('accepts: the hook sees name, detected type, size, sha256 and the stored bytes before the row exists', async () => {
      const visitor = new Visitor(running.baseUrl);
      const rows = await running.rowCount();
      const response = await visitor.upload('/attachments/clean', [['f', 'notes.txt', 'nothing to see']]);
      assert.equal(response.status, 201);
      const [stored] = (await response.json()) as Array<{ sha256: string }>;
      assert.deepEqual(seen, [
        {
          name: 'notes.txt',
          mimetype: 'text/plain',
          size: 14,
          sha256: stored!.sha256,
          contentSha256: stored!.sha256,
          storedRows: rows,
        },
      ]);
      assert.deepEqual(await visitor.names('clean'), ['notes.txt']);
    });

    test('refuses EICAR: 422 file_rejected with its message, and the whole request stores nothing', async () => {
      const visitor = new Visitor(running.baseUrl);
      await visitor.upload('/attachments/virus', [['f', 'kept.txt', 'from before']]);
      const rows = await running.rowCount();
      const blobs = await running.blobCount();
      const response = await visitor.upload('/attachments/virus', [
        ['f', 'clean.txt', 'a clean file in the same request'],
        ['f', 'eicar.com', EICAR],
      ]);
      assert.equal(response.status, 422);
      const body = (await response.json()) as { code: string; message: string };
      assert.equal(body.code, 'file_rejected');
      assert.match(body.message, /The file contains a virus \(Eicar-Test-Signature\)/);
      assert.deepEqual(await visitor.names('virus'), ['kept.txt']);
      assert.equal(await running.rowCount(), rows);
      assert.equal(await running.blobCount(), blobs);
      assert.equal(await running.temporaryCount(), 0);
    });

    test('fails: any other error is 503 inspection_unavailable, nothing stored, nothing of it told', async () => {
      const visitor = new Visitor(running.baseUrl);
      const rows = await running.rowCount();
      const blobs = await running.blobCount();
      const response = await visitor.upload('/attachments/down', [['f', 'scanner-down.txt', 'any file']]);
      assert.equal(response.status, 503);
      const body = (await response.json()) as { code: string; message: string };
      assert.equal(body.code, 'inspection_unavailable');
      assert.doesNotMatch(body.message, /ECONNREFUSED|clamd/);
      assert.equal(await running.rowCount(), rows);
      assert.equal(await running.blobCount(), blobs);
    });
  });

  describe(`inspect hook out of time on ${kind}`, () => {
    let running: RunningApp;
    let aborted: unknown[] = [];
    // Answers only when its signal aborts, as a hook that honours it does: the outcome cannot
    // depend on how fast the machine is.
    const waitsForTheSignal: InspectHook = (file, signal) =>
      new Promise((_, reject) => {
        file.stream.resume();
        signal.addEventListener('abort', () => {
          aborted.push(signal.reason);
          reject(signal.reason as Error);
        });
      });
    before(async () => {
      running = await startApp(kind, {
        attachments: {
          inspect: (file, signal) =>
            file.name === 'ignores.txt' ? new Promise(() => undefined) : waitsForTheSignal(file, signal),
          inspectTimeout: 20,
        },
      });
    });
    after(() => running.close());
    beforeEach(() => {
      aborted = [];
    });

    test('inspectTimeout aborts the hook through its signal: 503 inspection_unavailable, nothing stored', async () => {
      const visitor = new Visitor(running.baseUrl);
      const response = await visitor.upload('/attachments/slow', [['f', 'slow.txt', 'takes forever to scan']]);
      assert.equal(response.status, 503);
      assert.equal(((await response.json()) as { code: string }).code, 'inspection_unavailable');
      assert.equal(aborted.length, 1);
      assert.match(String(aborted[0]), /took longer than 20ms/);
      assert.equal(await running.rowCount(), 0);
      assert.equal(await running.blobCount(), 0);
    });

    test('a hook that ignores its signal is not waited for: 503 at the time limit', async () => {
      const visitor = new Visitor(running.baseUrl);
      const response = await visitor.upload('/attachments/deaf', [['f', 'ignores.txt', 'never answered']]);
      assert.equal(response.status, 503);
      assert.equal(((await response.json()) as { code: string }).code, 'inspection_unavailable');
      assert.equal(await running.rowCount(), 0);
    });
  });
}
