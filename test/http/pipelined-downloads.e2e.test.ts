// A client may pipeline many downloads on one HTTP/1.1 connection and go away without reading
// them. Node 20 tells an answer queued behind another nothing when the connection closes (no
// 'close', no write callbacks), so a download that waited for those kept its file open and
// its buffers for good: a few such connections exhaust the process's descriptors. Every
// download must let its file go once the connection is gone, on both ways of sending a body
// (a disk blob writing itself, and the plain pipe a host's `res.write` wrapper gets).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readlink } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startApp, type RunningApp } from '../support/test-app.js';
import { Visitor } from '../support/visitor.js';
import { waitFor } from '../support/wait-for.js';

/** Hands every write on to Node's own: the answer is no longer Node's `write`, so it gets the pipe. */
function passThroughWriteWrapper(_request: unknown, response: ServerResponse, next: () => void): void {
  const write = response.write.bind(response) as (...args: unknown[]) => boolean;
  response.write = ((...args: unknown[]) => write(...args)) as ServerResponse['write'];
  next();
}

/** The descriptors this process has open on files under `folder` (Linux's /proc). */
async function openFilesUnder(folder: string): Promise<number> {
  let count = 0;
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    if (target.startsWith(folder)) count += 1;
  }
  return count;
}

const REQUESTS = 20;

for (const [way, wrap] of [
  ['the blob writing itself', false],
  ['the pipe behind a res.write wrapper', true],
] as const) {
  describe(`pipelined downloads abandoned by their client (${way})`, () => {
    let running: RunningApp;
    before(async () => {
      running = await startApp('sqlite', {
        attachments: { inlineMaxSize: 0 },
        beforeListen: wrap ? (app) => app.use(passThroughWriteWrapper) : undefined,
      });
    });
    after(() => running.close());

    test(`${REQUESTS} GETs in one write, then the connection closes: every file is closed again`, async () => {
      const visitor = new Visitor(running.baseUrl);
      // Far more than the socket's buffers take, so the first answer stalls and the rest queue.
      const uploaded = await visitor.upload('/attachments/piped', [['f', 'big.bin', randomBytes(4 * 1024 * 1024)]]);
      assert.equal(uploaded.status, 201);
      assert.equal(await openFilesUnder(running.attachmentsDirectory), 0);

      const { port } = new URL(running.baseUrl);
      const socket = connect(Number(port), '127.0.0.1');
      await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
      socket.pause();
      socket.write(
        `GET /attachments/piped/big.bin HTTP/1.1\r\nHost: localhost\r\nCookie: ${visitor.cookie}\r\n\r\n`.repeat(REQUESTS),
      );
      // The first answer is being sent and at least one more waits behind it with its file open.
      assert.ok(
        await waitFor(async () => (await openFilesUnder(running.attachmentsDirectory)) >= 2),
        'the pipelined downloads never opened their files',
      );
      socket.destroy();
      assert.ok(
        await waitFor(async () => (await openFilesUnder(running.attachmentsDirectory)) === 0),
        `${await openFilesUnder(running.attachmentsDirectory)} files still open after the connection closed`,
      );
      // The server still answers on another connection.
      const again = await visitor.get('/attachments/piped/big.bin');
      assert.equal(again.status, 200);
      assert.equal((await again.arrayBuffer()).byteLength, 4 * 1024 * 1024);
    });
  });
}
