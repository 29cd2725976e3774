// A client that goes away while its owner is being resolved, before the upload's body is read:
// its request has closed already, and no byte of it will come (a complete body buffered by
// then is dropped with it). The upload must end at once, storing nothing, not wait for
// uploadIdleTimeout (a partial body) or uploadTimeout (a complete one) to answer nobody.
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import type { InspectHook } from '../../src/attachments/index.js';
import { after, before, describe, test } from 'node:test';
import { DATABASE_KINDS } from '../support/databases.js';
import { OwnerGate, type HeldRequest } from '../support/owner-gate.js';
import { multipartBody } from '../support/raw-http.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { waitFor } from '../support/wait-for.js';

const BOUNDARY = 'gone-early';

for (const kind of DATABASE_KINDS) {
  describe(`an upload whose client went before its body was read, on ${kind}`, () => {
    let running: RunningApp;
    /** Requests marked `x-hold` wait in the owner resolver until the test releases them. */
    const gate = new OwnerGate('user:gone-early');
    before(async () => {
      running = await startApp(kind, {
        attachments: {
          // Far beyond the test: a request that waits for them never answers within it.
          uploadIdleTimeout: '30m',
          uploadTimeout: '1h',
          owner: gate.resolve,
        },
      });
    });
    after(() => running.close());

    /** Sends `body` (or its first half), cuts the connection while the owner resolves, then releases it. */
    async function goneWhileOwnerResolves(bundle: string, whole: boolean): Promise<HeldRequest> {
      const holding = gate.nextHeld();
      const body = multipartBody(BOUNDARY, [
        { headers: ['Content-Disposition: form-data; name="f"; filename="a.txt"'], content: 'x'.repeat(20_000) },
      ]);
      const { hostname, port } = new URL(running.baseUrl);
      const request = httpRequest({
        hostname,
        port,
        path: `/attachments/${bundle}`,
        method: 'POST',
        headers: {
          'x-hold': '1',
          'content-type': `multipart/form-data; boundary=${BOUNDARY}`,
          'content-length': String(body.byteLength),
        },
      });
      request.on('error', () => undefined);
      request.write(whole ? body : body.subarray(0, body.byteLength >> 1));
      const server = await holding;
      request.destroy();
      assert.ok(await waitFor(() => server.request.destroyed), 'the server saw the client go');
      server.release();
      return server.request;
    }

    for (const whole of [false, true]) {
      test(`${whole ? 'a complete' : 'a partial'} body: the upload ends at once and stores nothing`, async () => {
        const request = await goneWhileOwnerResolves(whole ? 'whole' : 'partial', whole);
        // The answer goes to a closed connection: no header is sent, only its status is set
        // (201 from the start, by the route's @HttpCode, until the error replaces it).
        assert.ok(await waitFor(() => request.res.statusCode !== 201), 'the upload ends without waiting for a timeout');
        assert.equal(request.res.statusCode, 400);
        assert.equal(await running.rowCount(), 0);
        assert.equal(await running.blobCount(), 0);
        assert.equal(await running.temporaryCount(), 0);
      });
    }
  });
}

// The same, later: the whole body has arrived, but its end still waits in the request's buffer
// (backpressure held it: the first file's inspection runs, the second file's part is full)
// when the client goes. The closed request drops those bytes, and the upload would wait for
// them until uploadTimeout (the idle timer is off once a body is complete).
for (const kind of DATABASE_KINDS) {
  describe(`an upload whose client went with the end of its body unread, on ${kind}`, () => {
    let running: RunningApp;
    let seen: HeldRequest | undefined;
    let enter!: () => void;
    let release!: () => void;
    const entered = new Promise<void>((resolve) => (enter = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    const inspect: InspectHook = async (file) => {
      if (file.name !== 'held.txt') return;
      enter();
      await released;
    };
    before(async () => {
      running = await startApp(kind, {
        attachments: {
          uploadIdleTimeout: '30m',
          uploadTimeout: '1h',
          inspect,
          owner: (request) => {
            seen = request as unknown as HeldRequest;
            return 'user:gone-late';
          },
        },
      });
    });
    after(() => running.close());

    test('the upload ends at once and stores nothing', async () => {
      const start = Buffer.from(
        `--${BOUNDARY}\r\nContent-Disposition: form-data; name="f"; filename="held.txt"\r\n\r\nheld\r\n` +
          `--${BOUNDARY}\r\nContent-Disposition: form-data; name="f"; filename="second.bin"\r\n\r\n`,
      );
      const piece = Buffer.alloc(4096, 7);
      const end = Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
      const { hostname, port } = new URL(running.baseUrl);
      const socket = connect(Number(port), hostname);
      socket.on('error', () => undefined);
      // Every byte written is counted, to tell when the server has read them all.
      let sent = 0;
      const write = (bytes: string | Buffer) => {
        socket.write(bytes);
        sent += Buffer.byteLength(bytes);
      };
      // Chunked, so that the body may end right after backpressure has paused the request.
      const send = (bytes: Buffer) =>
        write(Buffer.concat([Buffer.from(`${bytes.byteLength.toString(16)}\r\n`), bytes, Buffer.from('\r\n')]));
      write(
        `POST /attachments/late HTTP/1.1\r\nHost: ${hostname}\r\n` +
          `Content-Type: multipart/form-data; boundary=${BOUNDARY}\r\nTransfer-Encoding: chunked\r\n\r\n`,
      );
      send(start);
      await entered;
      const request = seen!;
      // Pieces of the second file, each read by the server before the next is sent, until
      // backpressure pauses the request: what comes next waits in its buffer, unparsed.
      for (let written = 0; !request.isPaused(); written += 1) {
        assert.ok(written < 1000, 'backpressure paused the request');
        send(piece);
        assert.ok(await waitFor(() => request.socket.bytesRead === sent || request.isPaused()));
      }
      send(end);
      write('0\r\n\r\n');
      assert.ok(await waitFor(() => request.complete), 'the server has read the whole body');
      assert.ok(request.readableLength > 0, "its end waits in the request's buffer");
      socket.destroy();
      assert.ok(await waitFor(() => request.destroyed), 'the server saw the client go');
      release();
      assert.ok(await waitFor(() => request.res.statusCode !== 201), 'the upload ends without waiting for a timeout');
      assert.equal(request.res.statusCode, 400);
      assert.equal(await running.rowCount(), 0);
      assert.equal(await running.blobCount(), 0);
      assert.equal(await running.temporaryCount(), 0);
    });
  });
}
