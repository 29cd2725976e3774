// Drafts survive login: the demo's login adopts the anonymous session's attachments for the
// user in one transaction (newer file wins a same-name conflict, the loser's bytes go), and an
// upload still arriving during the login follows them instead of being lost.
import { Controller, HttpCode, Param, Post } from '@nestjs/common';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { DataSource } from 'typeorm';
import { AttachmentsService, CurrentOwner, type OwnerKey } from '../../src/attachments/index.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { multipartBody } from '../support/raw-http.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { Visitor } from '../support/visitor.js';
import { waitFor } from '../support/wait-for.js';

/** A submit whose handler waits for the test: a take still running when the visitor logs in. */
const gate = { entered: false, open: () => undefined as void, fail: false };

@Controller('host')
class SlowSubmitController {
  constructor(private readonly attachments: AttachmentsService) {}

  @Post(':bundle/slow-send')
  @HttpCode(200)
  async send(@Param('bundle') bundle: string, @CurrentOwner() owner: OwnerKey): Promise<{ sent: number }> {
    const taken = await this.attachments.take(owner, bundle, async ({ stream }) => {
      stream.resume();
      if (!gate.entered) {
        gate.entered = true;
        await new Promise<void>((resolve) => (gate.open = resolve));
      }
      if (gate.fail) throw new Error('the mail server is down');
    });
    return { sent: taken.length };
  }
}

const login = async (visitor: Visitor) => {
  const response = await visitor.post('/demo/login');
  assert.equal(response.status, 200);
  return (await response.json()) as { user: string; adopted: number };
};

const owners = async (running: RunningApp, name: string): Promise<string[]> =>
  (
    await running.app
      .get(DataSource)
      .query<Array<{ session_key: string }>>(`SELECT session_key FROM session_attachments WHERE name = '${name}'`)
  ).map((row) => row.session_key);

/** Moves a file's last write into the past (the same-name rule compares `updated`). */
const age = (running: RunningApp, owner: string, name: string, ms: number) =>
  running.app
    .get(DataSource)
    .query(
      `UPDATE session_attachments SET updated_at = updated_at - ${ms} WHERE name = '${name}' AND session_key ${owner === 'user:demo' ? "= 'user:demo'" : "<> 'user:demo'"}`,
    );

for (const kind of DATABASE_KINDS) {
  describe(`adoption at login on ${kind}`, () => {
    let running: RunningApp;
    before(async () => {
      // Every file to the storage, so that blobs can be counted and an upload seen under way.
      running = await startApp(kind, { controllers: [SlowSubmitController], attachments: { inlineMaxSize: 0 } });
    });
    after(() => running.close());

    for (const fail of [false, true]) {
      test(`a take running during the login ${fail ? 'that fails gives the files back to the user' : 'still removes what it handed over'}`, async () => {
        Object.assign(gate, { entered: false, fail });
        const visitor = new Visitor(running.baseUrl);
        await visitor.upload('/attachments/submit', [
          ['f', 'a.txt', 'a'],
          ['f', 'b.txt', 'b'],
        ]);
        const sending = visitor.post('/host/submit/slow-send');
        assert.ok(await waitFor(() => gate.entered));
        await login(visitor);
        assert.deepEqual(await owners(running, 'a.txt'), ['user:demo'], 'adopted with its claim');
        gate.open();
        assert.equal((await sending).status, fail ? 500 : 200);
        assert.deepEqual(await visitor.names('submit'), fail ? ['a.txt', 'b.txt'] : []);
        if (fail) {
          // Given back, not left claimed: the user's next submit hands them over.
          gate.fail = false;
          const again = await visitor.post('/host/submit/slow-send');
          assert.deepEqual(await again.json(), { sent: 2 });
        }
        await visitor.delete('/attachments/submit');
      });
    }

    test("an anonymous draft becomes the user's at login, on any device afterwards", async () => {
      const visitor = new Visitor(running.baseUrl);
      await visitor.upload('/attachments/mail', [['f', 'photo.txt', 'photo']]);
      await visitor.upload('/attachments/ticket', [['f', 'log.txt', 'log']]);
      const anonymousCookie = visitor.cookie;
      assert.deepEqual(await login(visitor), { user: 'demo', adopted: 2 });
      assert.deepEqual(await visitor.names('mail'), ['photo.txt']);
      assert.equal(await visitor.text('/attachments/ticket/log.txt'), 'log');
      assert.deepEqual(await owners(running, 'photo.txt'), ['user:demo']);
      const laptop = new Visitor(running.baseUrl);
      await login(laptop);
      assert.deepEqual(await laptop.names('ticket'), ['log.txt']);
      // The session before login reaches nothing any more; after logout the browser starts empty.
      const stale = new Visitor(running.baseUrl);
      stale.cookie = anonymousCookie;
      assert.deepEqual(await stale.names('mail'), []);
      assert.equal((await visitor.post('/demo/logout')).status, 204);
      assert.deepEqual(await visitor.names('mail'), []);
      await login(visitor);
      assert.deepEqual(await visitor.names('mail'), ['photo.txt']);
      await visitor.delete('/attachments/mail');
      await visitor.delete('/attachments/ticket');
    });

    test('a same-name conflict keeps the newer file, and the loser’s bytes are deleted', async () => {
      const user = new Visitor(running.baseUrl);
      await login(user);
      await user.upload('/attachments/apply', [
        ['f', 'cv.txt', 'cv the user had'],
        ['f', 'letter.txt', 'letter the user wrote later'],
      ]);
      const visitor = new Visitor(running.baseUrl);
      await visitor.upload('/attachments/apply', [
        ['f', 'cv.txt', 'cv written anonymously later'],
        ['f', 'letter.txt', 'letter written anonymously before'],
        ['f', 'photo.txt', 'only anonymous'],
      ]);
      await age(running, 'user:demo', 'cv.txt', 60_000);
      await age(running, 'anonymous', 'letter.txt', 60_000);
      const blobs = await running.blobCount();
      assert.deepEqual(await login(visitor), { user: 'demo', adopted: 2 });
      assert.deepEqual(await visitor.names('apply'), ['cv.txt', 'letter.txt', 'photo.txt']);
      assert.equal(await visitor.text('/attachments/apply/cv.txt'), 'cv written anonymously later');
      assert.equal(await visitor.text('/attachments/apply/letter.txt'), 'letter the user wrote later');
      assert.equal(await running.blobCount(), blobs - 2);
      assert.equal(await running.rowCount(), 3);
      await visitor.delete('/attachments/apply');
    });

    test('an upload still arriving during the login lands with the user, once', async () => {
      const visitor = new Visitor(running.baseUrl);
      await visitor.upload('/attachments/late', [['f', 'early.txt', 'early']]);
      const anonymousCookie = visitor.cookie!;
      const boundary = 'adoption-boundary';
      const head = multipartBody(
        boundary,
        [{ headers: ['Content-Disposition: form-data; name="f"; filename="late.txt"'], content: 'x'.repeat(64 * 1024) }],
        false,
      ).subarray(0, -2); // the part stays open: its bytes continue below
      const tail = Buffer.concat([Buffer.from('tail\r\n'), Buffer.from(`--${boundary}--\r\n`)]);
      const { port } = new URL(running.baseUrl);
      const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
        const upload = httpRequest(
          {
            host: '127.0.0.1',
            port,
            method: 'POST',
            path: '/attachments/late',
            headers: { cookie: anonymousCookie, 'content-type': `multipart/form-data; boundary=${boundary}` },
          },
          (response) => {
            let body = '';
            response.setEncoding('utf8');
            response.on('data', (chunk: string) => (body += chunk));
            response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
          },
        );
        upload.on('error', reject);
        upload.write(head);
        // The owner is resolved and the bytes are arriving: now the visitor logs in elsewhere.
        void waitFor(async () => (await running.temporaryCount()) > 0).then(async () => {
          await login(visitor);
          upload.end(tail);
        });
      });
      const { status, body } = await answer;
      assert.equal(status, 201, body);
      assert.deepEqual(await visitor.names('late'), ['early.txt', 'late.txt']);
      assert.equal((await visitor.text('/attachments/late/late.txt')).length, 64 * 1024 + 4);
      assert.deepEqual(await owners(running, 'late.txt'), ['user:demo']);
      await visitor.delete('/attachments/late');
    });
  });

  describe(`adoption and the new owner's quotas on ${kind}`, () => {
    let running: RunningApp;
    before(async () => {
      running = await startApp(kind, { attachments: { limits: { bundlesPerSession: 1, filesPerBundle: 1 } } });
    });
    after(() => running.close());

    test("adoption never refuses: the files are the user's own already", async () => {
      const user = new Visitor(running.baseUrl);
      await login(user);
      assert.equal((await user.upload('/attachments/one', [['f', 'a.txt', 'a']])).status, 201);
      const visitor = new Visitor(running.baseUrl);
      assert.equal((await visitor.upload('/attachments/two', [['f', 'b.txt', 'b']])).status, 201);
      await login(visitor);
      assert.deepEqual(await visitor.names('one'), ['a.txt']);
      assert.deepEqual(await visitor.names('two'), ['b.txt']);
      // Past the quota now, later uploads into new bundles are refused as usual.
      const refused = await visitor.upload('/attachments/three', [['f', 'c.txt', 'c']]);
      assert.equal(((await refused.json()) as { code: string }).code, 'too_many_bundles');
    });
  });
}
