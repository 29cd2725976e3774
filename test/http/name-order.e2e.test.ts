// One name order everywhere: Unicode code point order in the list, an upload's answer and take().
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DATABASE_KINDS } from '../support/databases.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { Visitor, type AttachmentBody } from '../support/visitor.js';

// Code point order. Case and accents sort by code point (not as a dictionary would), digits
// are not numbers, and U+FF5A sorts before U+1F600 although UTF-16 code units (0xFF5A against
// the surrogate 0xD83D) would put them the other way round.
const IN_ORDER = ['B.txt', 'a.txt', 'e.txt', 'z10.txt', 'z9.txt', 'É.txt', 'ｚ.txt', '😀.txt'];
const SHUFFLED = ['😀.txt', 'z9.txt', 'a.txt', 'ｚ.txt', 'É.txt', 'B.txt', 'z10.txt', 'e.txt'];

for (const kind of DATABASE_KINDS) {
  describe(`name order on ${kind}`, () => {
    let running: RunningApp;
    before(async () => {
      running = await startApp(kind);
    });
    after(() => running.close());

    test('the upload answer, the list and take() give names in code point order', async () => {
      const visitor = new Visitor(running.baseUrl);
      const upload = await visitor.upload(
        '/attachments/order',
        SHUFFLED.map((name) => ['f', name, name]),
      );
      assert.equal(upload.status, 201);
      assert.deepEqual(
        ((await upload.json()) as AttachmentBody[]).map((attachment) => attachment.name),
        IN_ORDER,
        'upload answer',
      );
      assert.deepEqual(await visitor.names('order'), IN_ORDER, 'list');
      const sent = (await (await visitor.post('/drafts/order/send')).json()) as { sent: Array<{ name: string }> };
      assert.deepEqual(
        sent.sent.map((file) => file.name),
        IN_ORDER,
        'take',
      );
    });

    test('a second upload that replaces and adds answers in the same order', async () => {
      const visitor = new Visitor(running.baseUrl);
      await visitor.upload('/attachments/merge', [
        ['f', 'ｚ.txt', 'first'],
        ['f', 'a.txt', 'first'],
      ]);
      const second = await visitor.upload('/attachments/merge', [
        ['f', '😀.txt', 'second'],
        ['f', 'ｚ.txt', 'second'],
        ['f', 'B.txt', 'second'],
      ]);
      assert.deepEqual(
        ((await second.json()) as AttachmentBody[]).map((attachment) => attachment.name),
        ['B.txt', 'ｚ.txt', '😀.txt'],
      );
      assert.deepEqual(await visitor.names('merge'), ['B.txt', 'a.txt', 'ｚ.txt', '😀.txt']);
    });
  });
}
