// uploadIdleTimeout measures the client's silence only: not the time the server itself takes
// with a file it holds (storage, quota look-up, the inspect hook), whether the rest of the body
// has arrived or waits behind the server's own backpressure. A client that goes silent while
// the server would read is still cut off.
import assert from 'node:assert/strict';
import type { IncomingMessage, Server } from 'node:http';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { InspectHook } from '../../src/attachments/index.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { multipartBody, rawUpload, type RawResponse } from '../support/raw-http.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { Visitor, type AttachmentBody } from '../support/visitor.js';
import { waitFor } from '../support/wait-for.js';

// Long enough that no pause of a loaded machine between two reads of a flowing body reaches
// it (the passing tests need none to); the tests wait twice this for a timer to have fired.
const IDLE = 1000;
const BOUNDARY = 'idle-boundary';
const HELD = 'held.txt';
const filePart = (name: string, content: string | Buffer) => ({
  headers: [`Content-Disposition: form-data; name="f"; filename="${name}"`, 'Content-Type: application/octet-stream'],
  content,
});

/**
 * Holds the inspection of `held.txt` until released. Released only once a timer longer than
 * the idle timeout, started after the server last heard from the client, has fired: an idle
 * timer still counting then would have fired first (Node fires timers in the order they are
 * due), so its 408 does not depend on how fast the machine is.
 */
class HeldInspection {
  entered!: Promise<void>;
  private enter!: () => void;
  private release!: () => void;
  private released!: Promise<void>;

  constructor() {
    this.reset();
  }

  readonly hook: InspectHook = async (file) => {
    if (file.name !== HELD) return;
    this.enter();
    await this.released;
  };

  async releaseAfterIdleTimeout(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 2 * IDLE));
    this.release();
  }

  reset(): void {
    this.entered = new Promise((resolve) => (this.enter = resolve));
    this.released = new Promise((resolve) => (this.release = resolve));
  }
}

for (const kind of DATABASE_KINDS) {
  describe(`uploadIdleTimeout while the server holds a file, on ${kind}`, () => {
    let running: RunningApp;
    const inspection = new HeldInspection();
    let upload: IncomingMessage | undefined;
    before(async () => {
      running = await startApp(kind, { attachments: { uploadIdleTimeout: IDLE, inspect: inspection.hook } });
      (running.app.getHttpServer() as Server).on('request', (request: IncomingMessage) => {
        if (request.method === 'POST') upload = request;
      });
    });
    after(() => running.close());

    const post = async (visitor: Visitor, bundle: string, body: Buffer): Promise<RawResponse> => {
      inspection.reset();
      upload = undefined;
      return rawUpload(running.baseUrl, visitor, bundle, BOUNDARY, body);
    };

    test('a slow inspection after the whole body arrived → 201', async () => {
      const visitor = new Visitor(running.baseUrl);
      const response = post(visitor, 'arrived', multipartBody(BOUNDARY, [filePart(HELD, 'hi')]));
      await inspection.entered;
      assert.ok(await waitFor(() => upload?.complete === true));
      await inspection.releaseAfterIdleTimeout();
      const { status, body } = await response;
      assert.equal(status, 201, body);
      assert.deepEqual(await visitor.names('arrived'), [HELD]);
    });

    test('a slow inspection while the rest of the body waits behind backpressure → 201', async () => {
      const visitor = new Visitor(running.baseUrl);
      const big = Buffer.alloc(4 * 1024 * 1024, 3);
      const response = post(visitor, 'held-back', multipartBody(BOUNDARY, [filePart(HELD, 'hi'), filePart('big.bin', big)]));
      await inspection.entered;
      // The server stopped reading (the big file waits for the consumer), and the client's
      // bytes wait in the socket: nothing the client could do better.
      assert.ok(await waitFor(() => upload?.isPaused() === true));
      await inspection.releaseAfterIdleTimeout();
      const { status, body } = await response;
      assert.equal(status, 201, body);
      const saved = (JSON.parse(body) as AttachmentBody[]).map((attachment) => [attachment.name, attachment.size]);
      assert.deepEqual(
        saved.sort(([a], [b]) => String(a).localeCompare(String(b))),
        [
          ['big.bin', big.byteLength],
          [HELD, 2],
        ],
      );
    });

    test('a client silent while the server would read, though it holds a file → 408', async () => {
      const visitor = new Visitor(running.baseUrl);
      inspection.reset();
      await visitor.json('/attachments/silent');
      const rowsBefore = await running.rowCount();
      // The held file whole, then the start of another: the rest never comes.
      const head = Buffer.concat([
        multipartBody(BOUNDARY, [filePart(HELD, 'hi')], false),
        multipartBody(BOUNDARY, [filePart('rest.txt', 'the start')], false).subarray(0, -2),
      ]);
      const status = new Promise<number>((resolve, reject) => {
        const request = httpRequest(new URL('/attachments/silent', running.baseUrl), {
          method: 'POST',
          headers: {
            cookie: visitor.cookie ?? '',
            'content-type': `multipart/form-data; boundary=${BOUNDARY}`,
            'content-length': String(head.byteLength + 1000),
          },
        });
        request.on('response', (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        });
        request.on('error', reject);
        request.write(head);
      });
      await Promise.race([inspection.entered, status]);
      await inspection.releaseAfterIdleTimeout();
      assert.equal(await status, 408);
      assert.equal(await running.rowCount(), rowsBefore);
      assert.equal(await running.temporaryCount(), 0);
    });
  });
}
