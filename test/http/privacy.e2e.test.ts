// Another session sees nothing of a visitor's attachments and can change none of them.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DataSource } from 'typeorm';
import { DATABASE_KINDS } from '../support/databases.js';
import { PLACEMENTS, startApp, type RunningApp } from '../support/test-app.js';
import { Visitor, type AttachmentBody } from '../support/visitor.js';

for (const kind of DATABASE_KINDS) {
  for (const placement of PLACEMENTS) {
    describe(`privacy between sessions on ${kind}, ${placement.name}`, () => {
      let running: RunningApp;
      let alice: Visitor;
      let bob: Visitor;
      before(async () => {
        running = await startApp(kind, { attachments: { inlineMaxSize: placement.inlineMaxSize } });
        alice = new Visitor(running.baseUrl);
        bob = new Visitor(running.baseUrl);
        assert.equal((await alice.upload('/attachments/apply', [['cv', 'cv.pdf', 'alice cv']])).status, 201);
      });
      after(() => running.close());

      test('two visitors get two sessions', () => {
        assert.ok(alice.cookie);
      });

      test('another session lists an empty bundle and gets 404 for the file', async () => {
        assert.deepEqual(await bob.json('/attachments/apply'), []);
        const download = await bob.get('/attachments/apply/cv.pdf');
        assert.equal(download.status, 404);
        assert.equal(((await download.json()) as { code: string }).code, 'not_found');
        assert.notEqual(bob.cookie, alice.cookie);
      });

      test('another session cannot delete or clear it', async () => {
        assert.equal((await bob.post('/attachments/apply/cv.pdf/delete/')).status, 404);
        assert.equal((await bob.delete('/attachments/apply/cv.pdf')).status, 404);
        assert.equal((await bob.post('/attachments/apply/delete/')).status, 204);
        assert.equal((await bob.delete('/attachments/apply')).status, 204);
        assert.equal(await alice.text('/attachments/apply/cv.pdf'), 'alice cv');
      });

      test('the same bundle id and file name in another session never replaces it (the original app did)', async () => {
        assert.equal((await bob.upload('/attachments/apply', [['cv', 'cv.pdf', 'bob cv']])).status, 201);
        assert.equal(await alice.text('/attachments/apply/cv.pdf'), 'alice cv');
        assert.equal(await bob.text('/attachments/apply/cv.pdf'), 'bob cv');
        assert.equal((await alice.json<AttachmentBody[]>('/attachments/apply')).length, 1);
        assert.equal(await running.rowCount(), 2);
        assert.equal(await running.heldFileCount(), 2);
      });

      test('a request without any cookie is a new visitor', async () => {
        const stranger = new Visitor(running.baseUrl);
        assert.deepEqual(await stranger.json('/attachments/apply'), []);
      });

      test('the database holds neither the session id nor the cookie', async () => {
        const sid = decodeURIComponent(alice.cookie!.split('=')[1]!).replace(/^s:/, '').split('.')[0]!;
        const rows = await running.app
          .get(DataSource)
          .query<Array<{ session_key: string }>>('SELECT session_key FROM session_attachments');
        assert.equal(rows.length, 2);
        for (const row of rows) {
          assert.notEqual(row.session_key, sid);
          assert.ok(!alice.cookie!.includes(row.session_key));
          assert.ok(row.session_key.length >= 22, 'at least 128 bits of key');
        }
      });
    });
  }
}
