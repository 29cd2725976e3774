// express-session wraps res.end and drops a callback given to it (expressjs/session#477), which
// left every bodiless answer of @tus/server hanging. The module's tus answers without a body
// (OPTIONS, HEAD, 204 PATCH and DELETE) end, with the demo's express-session in front, on one
// kept-alive connection, and the session they start is saved.
import assert from 'node:assert/strict';
import { Agent, request as httpRequest, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { DATABASE_KINDS } from '../support/databases.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { TUS_RESUMABLE, uploadMetadata } from '../support/tus.js';

interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  socket: Socket;
}

for (const kind of DATABASE_KINDS) {
  describe(`bodiless tus answers behind express-session on ${kind}`, () => {
    let running: RunningApp;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    before(async () => {
      running = await startApp(kind);
    });
    after(async () => {
      agent.destroy();
      await running.close();
    });

    let cookie: string | undefined;
    const send = (method: string, path: string, headers: Record<string, string>, body?: Buffer) =>
      new Promise<Answer>((resolve, reject) => {
        const { hostname, port } = new URL(running.baseUrl);
        const request = httpRequest(
          { hostname, port, path, method, agent, headers: { ...headers, ...(cookie ? { cookie } : {}) } },
          (response) => {
            const setCookie = response.headers['set-cookie']?.[0];
            if (setCookie) cookie = setCookie.split(';')[0];
            response.resume();
            // 'end' only comes once the server has ended its answer.
            response.on('end', () =>
              resolve({ status: response.statusCode ?? 0, headers: response.headers, socket: request.socket! }),
            );
          },
        );
        request.on('error', reject);
        request.end(body);
      });

    test('OPTIONS, HEAD, PATCH and DELETE answers end, and the session they started is kept', async () => {
      const options = await send('OPTIONS', '/attachments/bodiless/tus', {});
      assert.equal(options.status, 204);
      assert.ok(cookie, 'the first answer started the session');
      const created = await send('POST', '/attachments/bodiless/tus', {
        ...TUS_RESUMABLE,
        'upload-length': '6',
        'upload-metadata': uploadMetadata({ filename: 'a.txt' }),
      });
      assert.equal(created.status, 201);
      const location = String(created.headers.location);
      const head = await send('HEAD', location, TUS_RESUMABLE);
      assert.equal(head.status, 200, 'the same session owns it');
      const patched = await send(
        'PATCH',
        location,
        { ...TUS_RESUMABLE, 'content-type': 'application/offset+octet-stream', 'upload-offset': '0' },
        Buffer.from('abc'),
      );
      assert.equal(patched.status, 204);
      assert.equal(patched.headers['upload-offset'], '3');
      const removed = await send('DELETE', location, TUS_RESUMABLE);
      assert.equal(removed.status, 204);
      const gone = await send('HEAD', location, TUS_RESUMABLE);
      assert.equal(gone.status, 404);
      const sockets = new Set([options, created, head, patched, removed, gone].map((answer) => answer.socket));
      assert.equal(sockets.size, 1, 'one connection served them all: every answer was delimited');
    });
  });
}
