// The module behind the Nest docs' JWT guard: owners are `user:<sub>` of a real signed token;
// an expired or forged token gets the guard's 401 and touches nothing; no cookie is involved.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DATABASE_KINDS } from '../support/databases.js';
import { JwtAuthGuard, jwtOwnedApp, signToken } from '../support/jwt-auth.js';
import { submitController } from '../support/submit-controller.js';
import { startApp, type RunningApp } from '../support/test-app.js';

const SubmitController = submitController(JwtAuthGuard);

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

function upload(running: RunningApp, token: string, bundle: string, name: string, content: string): Promise<Response> {
  const form = new FormData();
  form.append('file', new Blob([content]), name);
  return fetch(`${running.baseUrl}/attachments/${bundle}`, { method: 'POST', body: form, headers: bearer(token) });
}

for (const kind of DATABASE_KINDS) {
  describe(`JWT-guarded attachments on ${kind}`, () => {
    let running: RunningApp;
    before(async () => {
      running = await startApp(kind, jwtOwnedApp({ controllers: [SubmitController] }));
    });
    after(() => running.close());

    test('a valid token uploads, lists, downloads and deletes, with no cookie set or sent', async () => {
      const token = await signToken({ sub: '42' });
      const stored = await upload(running, token, 'draft', 'report.txt', 'quarterly');
      assert.equal(stored.status, 201);
      assert.equal(stored.headers.get('set-cookie'), null);
      // Another token of the same user (another device) sees the same files.
      const other = await signToken({ sub: '42', exp: Math.floor(Date.now() / 1000) + 3600 });
      const list = await fetch(`${running.baseUrl}/attachments/draft`, { headers: bearer(other) });
      assert.deepEqual(
        ((await list.json()) as Array<{ name: string }>).map((attachment) => attachment.name),
        ['report.txt'],
      );
      const download = await fetch(`${running.baseUrl}/attachments/draft/report.txt`, { headers: bearer(other) });
      assert.equal(await download.text(), 'quarterly');
      const stranger = await signToken({ sub: '7' });
      assert.deepEqual(await (await fetch(`${running.baseUrl}/attachments/draft`, { headers: bearer(stranger) })).json(), []);
      const deleted = await fetch(`${running.baseUrl}/attachments/draft/report.txt`, {
        method: 'DELETE',
        headers: bearer(token),
      });
      assert.equal(deleted.status, 204);
      assert.equal(await running.rowCount(), 0);
    });

    test('an expired token, a forged one and none at all are 401, and store or show nothing', async () => {
      const owner = await signToken({ sub: '42' });
      assert.equal((await upload(running, owner, 'kept', 'mine.txt', 'mine')).status, 201);
      const rows = await running.rowCount();
      const blobs = await running.blobCount();
      const expired = await signToken({ sub: '42', exp: Math.floor(Date.now() / 1000) - 60 });
      const forged = await signToken({ sub: '42' }, 'not the secret');
      const [header, , signature] = owner.split('.');
      const tampered = `${header}.${Buffer.from(JSON.stringify({ sub: '7' })).toString('base64url')}.${signature}`;
      for (const token of [expired, forged, tampered]) {
        assert.equal((await upload(running, token, 'kept', 'evil.txt', 'evil')).status, 401);
        assert.equal((await fetch(`${running.baseUrl}/attachments/kept`, { headers: bearer(token) })).status, 401);
        const download = await fetch(`${running.baseUrl}/attachments/kept/mine.txt`, { headers: bearer(token) });
        assert.equal(download.status, 401);
        const remove = await fetch(`${running.baseUrl}/attachments/kept/mine.txt`, { method: 'DELETE', headers: bearer(token) });
        assert.equal(remove.status, 401);
      }
      assert.equal((await fetch(`${running.baseUrl}/attachments/kept`)).status, 401);
      assert.equal(await running.rowCount(), rows);
      assert.equal(await running.blobCount(), blobs);
      assert.equal(await running.temporaryCount(), 0);
      const still = await fetch(`${running.baseUrl}/attachments/kept/mine.txt`, { headers: bearer(owner) });
      assert.equal(await still.text(), 'mine');
    });

    test("the host's guarded submit route takes the token user's files", async () => {
      const token = await signToken({ sub: 'ada' });
      await upload(running, token, 'submit', 'a.txt', 'a');
      const response = await fetch(`${running.baseUrl}/host/submit/send`, { method: 'POST', headers: bearer(token) });
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), { owner: 'user:ada', sent: ['a.txt'] });
      const expired = await signToken({ sub: 'ada', exp: Math.floor(Date.now() / 1000) - 1 });
      assert.equal(
        (await fetch(`${running.baseUrl}/host/submit/send`, { method: 'POST', headers: bearer(expired) })).status,
        401,
      );
    });
  });
}
