// A client that goes away while its owner is being resolved, before the body is read: its
// request has closed already. The PATCH or creation must notice at once (not after
// uploadIdleTimeout, answering 408 to nobody), and a creation-with-upload must not leave
// behind an upload whose URL nobody heard.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { DataSource } from 'typeorm';
import { DATABASE_KINDS } from '../support/databases.js';
import { OwnerGate } from '../support/owner-gate.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { uploadRowsIn } from '../support/tus-requests.js';
import { createUpload, TUS_RESUMABLE, uploadMetadata } from '../support/tus.js';
import { Visitor } from '../support/visitor.js';
import { waitFor } from '../support/wait-for.js';

const LENGTH = 50_000;

for (const kind of DATABASE_KINDS) {
  describe(`a client gone before its body is read on ${kind}`, () => {
    let running: RunningApp;
    let uploadsIn: (bundle: string) => Promise<number>;
    /** Requests marked `x-hold` wait in the owner resolver until the test releases them. */
    const gate = new OwnerGate('user:gone-early');
    before(async () => {
      running = await startApp(kind, {
        attachments: {
          inlineMaxSize: 0,
          // Far beyond the test: a request that waits for them never answers within it.
          uploadIdleTimeout: '30m',
          uploadTimeout: '1h',
          owner: gate.resolve,
        },
      });
      const dataSource = running.app.get(DataSource);
      uploadsIn = (bundle) => uploadRowsIn(dataSource, bundle);
    });
    after(() => running.close());

    /**
     * Sends `method path` with the first bytes of its body, and cuts the connection while the
     * server resolves its owner; resolves the server's request once it has seen the close,
     * before the owner is released.
     */
    async function goneWhileOwnerResolves(method: string, path: string, headers: Record<string, string>) {
      const holding = gate.nextHeld();
      const { hostname, port } = new URL(running.baseUrl);
      const request = httpRequest({
        hostname,
        port,
        path,
        method,
        headers: {
          ...TUS_RESUMABLE,
          'x-hold': '1',
          'content-type': 'application/offset+octet-stream',
          'content-length': String(LENGTH),
          ...headers,
        },
      });
      request.on('error', () => undefined);
      request.write(randomBytes(10_000));
      const server = await holding;
      request.destroy();
      assert.ok(await waitFor(() => server.request.destroyed), 'the server saw the client go');
      return server;
    }

    test('a creation-with-upload whose client went leaves no upload behind', async () => {
      const server = await goneWhileOwnerResolves('POST', '/attachments/early-post/tus', {
        'upload-length': String(LENGTH),
        'upload-metadata': uploadMetadata({ filename: 'video.mp4' }),
      });
      server.release();
      assert.ok(await waitFor(() => server.request.res.headersSent), 'the creation ends without waiting for the body');
      assert.equal(await uploadsIn('early-post'), 0, 'no upload nobody heard of');
      assert.equal(await running.blobCount(), 0, 'and no bytes');
    });

    test('a PATCH whose client went ends at once, its upload where it was', async () => {
      const visitor = new Visitor(running.baseUrl);
      const { response, location } = await createUpload(visitor, 'early-patch', 'a.bin', LENGTH);
      assert.equal(response.status, 201);
      const server = await goneWhileOwnerResolves('PATCH', location, { 'upload-offset': '0' });
      server.release();
      assert.ok(await waitFor(() => server.request.res.headersSent), 'the PATCH ends without waiting for the body');
      assert.equal(server.request.res.statusCode, 204, 'nothing arrived, nothing timed out');
      const head = await visitor.request('HEAD', location, { headers: TUS_RESUMABLE });
      assert.equal(head.headers.get('upload-offset'), '0');
    });
  });
}
