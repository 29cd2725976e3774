// The `owner` option: a resolver of the request decides whose attachments a request touches,
// sync or async; no owner is 401 owner_required, never 500; host routes resolve the same owner.
import { UnauthorizedException } from '@nestjs/common';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Request } from 'express';
import { DataSource } from 'typeorm';
import { ownerKey } from '../../src/attachments/index.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { submitController } from '../support/submit-controller.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { Visitor } from '../support/visitor.js';

/** A stand-in for an auth layer: the user is named by a header. */
const userOf = (request: Request) => {
  const user = request.headers['x-user'];
  return typeof user === 'string' && user !== '' ? user : undefined;
};

const SubmitController = submitController();

const as = (running: RunningApp, user?: string) => {
  const visitor = new Visitor(running.baseUrl);
  const headers: Record<string, string> = user === undefined ? {} : { 'x-user': user };
  return {
    visitor,
    list: (bundle: string) => visitor.get(`/attachments/${bundle}`, headers),
    upload: (bundle: string, name: string, content: string) => {
      const form = new FormData();
      form.append('file', new Blob([content]), name);
      return visitor.request('POST', `/attachments/${bundle}`, { body: form, headers });
    },
    download: (path: string) => visitor.get(path, headers),
    remove: (path: string) => visitor.request('DELETE', path, { headers }),
    send: (bundle: string) => visitor.request('POST', `/host/${bundle}/send`, { headers }),
  };
};

const ownersInTable = async (running: RunningApp): Promise<string[]> =>
  (
    await running.app
      .get(DataSource)
      .query<Array<{ session_key: string }>>('SELECT DISTINCT session_key FROM session_attachments ORDER BY session_key')
  ).map((row) => row.session_key);

for (const kind of DATABASE_KINDS) {
  describe(`a synchronous owner resolver on ${kind}`, () => {
    let running: RunningApp;
    before(async () => {
      running = await startApp(kind, {
        attachments: { owner: (request: Request) => (userOf(request) ? `user:${userOf(request)}` : undefined) },
        controllers: [SubmitController],
      });
    });
    after(() => running.close());

    test("a user's files follow the user, not the cookie, and another user sees none of them", async () => {
      const laptop = as(running, 'ada');
      assert.equal((await laptop.upload('draft', 'cv.txt', 'ada cv')).status, 201);
      // Another device: no cookie in common, the same user.
      const phone = as(running, 'ada');
      const listed = (await (await phone.list('draft')).json()) as Array<{ name: string; url: string }>;
      assert.deepEqual(
        listed.map((attachment) => attachment.name),
        ['cv.txt'],
      );
      assert.equal(await (await phone.download(listed[0]!.url)).text(), 'ada cv');
      const other = as(running, 'bob');
      assert.deepEqual(await (await other.list('draft')).json(), []);
      assert.equal((await other.download('/attachments/draft/cv.txt')).status, 404);
      assert.equal((await other.remove('/attachments/draft/cv.txt')).status, 404);
      assert.deepEqual(await ownersInTable(running), ['user:ada']);
      // No session was needed, so none was made.
      assert.equal(laptop.visitor.cookie, undefined);
    });

    test('a request without an owner is 401 owner_required on every route, and nothing is stored', async () => {
      const rows = await running.rowCount();
      const nobody = as(running);
      for (const response of [
        await nobody.list('draft'),
        await nobody.upload('draft', 'x.txt', 'x'),
        await nobody.download('/attachments/draft/cv.txt'),
        await nobody.remove('/attachments/draft/cv.txt'),
        await nobody.visitor.post('/attachments/draft/delete'),
        await nobody.send('draft'),
      ]) {
        assert.equal(response.status, 401);
        const body = (await response.json()) as { code: string; error: string };
        assert.equal(body.code, 'owner_required');
        assert.equal(body.error, 'Unauthorized');
      }
      assert.equal(await running.rowCount(), rows);
    });

    test("a host route's @CurrentOwner() resolves the same owner as the module's routes", async () => {
      const grace = as(running, 'grace');
      await grace.upload('submit', 'a.txt', 'a');
      await grace.upload('submit', 'b.txt', 'b');
      const response = await grace.send('submit');
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), { owner: 'user:grace', sent: ['a.txt', 'b.txt'] });
      assert.deepEqual(await (await grace.list('submit')).json(), []);
    });

    test('an owner key longer than the column is stored as its hash, one per key', async () => {
      const long = 'x'.repeat(80);
      const first = as(running, `${long}-1@example.com`);
      const second = as(running, `${long}-2@example.com`);
      assert.equal((await first.upload('long', 'one.txt', 'first')).status, 201);
      assert.equal((await second.upload('long', 'one.txt', 'second')).status, 201);
      assert.equal(await (await as(running, `${long}-1@example.com`).download('/attachments/long/one.txt')).text(), 'first');
      assert.equal(await (await second.download('/attachments/long/one.txt')).text(), 'second');
      const stored = await ownersInTable(running);
      const hashed = ownerKey(`user:${long}-1@example.com`);
      assert.ok(stored.includes(hashed));
      assert.match(hashed, /^~[A-Za-z0-9_-]{43}$/);
      assert.ok(stored.every((key) => key.length <= 64));
    });
  });

  describe(`an asynchronous owner resolver on ${kind}`, () => {
    let running: RunningApp;
    // What a resolver that looks the user up does: it answers later, and may refuse.
    const lookUp = async (request: Request) => {
      await new Promise((resolve) => setImmediate(resolve));
      const user = userOf(request);
      if (user === 'revoked') throw new UnauthorizedException('this account is closed');
      return user === undefined ? null : `account:${user}`;
    };
    before(async () => {
      running = await startApp(kind, { attachments: { owner: lookUp }, controllers: [SubmitController] });
    });
    after(() => running.close());

    test('the awaited owner owns the upload and the host route sees it', async () => {
      const ada = as(running, 'ada');
      assert.equal((await ada.upload('draft', 'notes.txt', 'async')).status, 201);
      assert.equal(await (await as(running, 'ada').download('/attachments/draft/notes.txt')).text(), 'async');
      assert.deepEqual(await (await ada.send('draft')).json(), { owner: 'account:ada', sent: ['notes.txt'] });
    });

    test('null, and an UnauthorizedException thrown by the resolver, are 401 owner_required', async () => {
      for (const visitor of [as(running), as(running, 'revoked')]) {
        const response = await visitor.upload('draft', 'x.txt', 'x');
        assert.equal(response.status, 401);
        assert.equal(((await response.json()) as { code: string }).code, 'owner_required');
      }
      assert.equal(await running.rowCount(), 0);
    });
  });
}

describe('a resolver that returns something other than a string', () => {
  let running: RunningApp;
  before(async () => {
    running = await startApp('sqlite', { attachments: { owner: (() => 42) as unknown as () => string } });
  });
  after(() => running.close());

  test('is a programming error (500), not a silent owner', async () => {
    const response = await new Visitor(running.baseUrl).get('/attachments/draft');
    assert.equal(response.status, 500);
  });
});
