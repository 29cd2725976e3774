// Every tus route runs behind the host's guards and the owner resolver, and the routes that
// change state behind the cross-site guard, like the module's other routes.
import { ForbiddenException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Request } from 'express';
import { DATABASE_KINDS } from '../support/databases.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { createUpload, TUS_RESUMABLE, uploadMetadata } from '../support/tus.js';
import { Visitor } from '../support/visitor.js';

/** The host's guard: refuses a request that says `x-blocked`. */
const hostGuard: CanActivate = {
  canActivate(context: ExecutionContext): boolean {
    if (context.switchToHttp().getRequest<Request>().headers['x-blocked']) throw new ForbiddenException('blocked by the host');
    return true;
  },
};

for (const kind of DATABASE_KINDS) {
  describe(`tus routes behind the host's guards and owner on ${kind}`, () => {
    let running: RunningApp;
    before(async () => {
      running = await startApp(kind, {
        attachments: { guards: [hostGuard], owner: (request) => request.header('x-user') },
      });
    });
    after(() => running.close());

    const requests = (location: string): Array<[string, string, Record<string, string>]> => [
      ['OPTIONS', '/attachments/guarded/tus', {}],
      ['OPTIONS', location, {}],
      ['POST', '/attachments/guarded/tus', { 'upload-length': '3', 'upload-metadata': uploadMetadata({ filename: 'b.txt' }) }],
      ['HEAD', location, {}],
      ['PATCH', location, { 'content-type': 'application/offset+octet-stream', 'upload-offset': '0' }],
      ['DELETE', location, {}],
    ];

    test("the host's guard and the owner resolver run for every tus route", async () => {
      const visitor = new Visitor(running.baseUrl);
      const { response, location } = await createUpload(visitor, 'guarded', 'a.txt', 3, { headers: { 'x-user': 'user:1' } });
      assert.equal(response.status, 201);
      for (const [method, path, headers] of requests(location)) {
        const blocked = await visitor.request(method, path, {
          headers: { ...TUS_RESUMABLE, ...headers, 'x-user': 'user:1', 'x-blocked': '1' },
        });
        assert.equal(blocked.status, 403, `${method} ${path}: the host's guard`);
        const anonymous = await visitor.request(method, path, { headers: { ...TUS_RESUMABLE, ...headers } });
        assert.equal(anonymous.status, 401, `${method} ${path}: no owner`);
        if (method !== 'HEAD') assert.equal(((await anonymous.json()) as { code: string }).code, 'owner_required');
      }
      const stranger = await visitor.request('HEAD', location, { headers: { ...TUS_RESUMABLE, 'x-user': 'user:2' } });
      assert.equal(stranger.status, 404, "another owner's upload");
      const owner = await visitor.request('HEAD', location, { headers: { ...TUS_RESUMABLE, 'x-user': 'user:1' } });
      assert.equal(owner.status, 200);
    });

    test('a cross-site POST, PATCH or DELETE is refused; HEAD and OPTIONS are not', async () => {
      const visitor = new Visitor(running.baseUrl);
      const { location } = await createUpload(visitor, 'guarded', 'c.txt', 3, { headers: { 'x-user': 'user:3' } });
      for (const [method, path, headers] of requests(location)) {
        const answer = await visitor.request(method, path, {
          headers: { ...TUS_RESUMABLE, ...headers, 'x-user': 'user:3', 'sec-fetch-site': 'cross-site' },
          ...(method === 'PATCH' ? { body: new Uint8Array(3) } : {}),
        });
        if (method === 'HEAD' || method === 'OPTIONS') assert.ok(answer.status < 300, `${method} ${path}: ${answer.status}`);
        else {
          assert.equal(answer.status, 403, `${method} ${path}`);
          assert.equal(((await answer.json()) as { code: string }).code, 'cross_site_request');
          assert.equal(answer.headers.get('tus-resumable'), '1.0.0');
        }
      }
      const still = await visitor.request('HEAD', location, { headers: { ...TUS_RESUMABLE, 'x-user': 'user:3' } });
      assert.equal(still.headers.get('upload-offset'), '0', 'nothing was written or deleted');
    });
  });
}
