// take() hands each file over once. A sweep that runs while a take is handing a bundle over
// (its files past expireAfter, the visitor submitting at the last moment) leaves the claimed
// files to the take: the take hands every one and removes them, and nothing is handed twice.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DataSource } from 'typeorm';
import { AttachmentsService, AttachmentsSweeper, ownerKey } from '../../src/attachments/index.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { Visitor } from '../support/visitor.js';

for (const kind of DATABASE_KINDS) {
  describe(`a sweep during a take() on ${kind}`, () => {
    let running: RunningApp;
    before(async () => {
      running = await startApp(kind, { attachments: { inlineMaxSize: 0 } });
    });
    after(() => running.close());

    test('spares the files being handed over; the take hands them all and removes them', async () => {
      const visitor = new Visitor(running.baseUrl);
      const uploaded = await visitor.upload('/attachments/late', [
        ['f', 'a.txt', 'first'],
        ['f', 'b.txt', 'second'],
      ]);
      assert.equal(uploaded.status, 201);
      const [row] = await running.app
        .get(DataSource)
        .query<Array<{ session_key: string }>>('SELECT session_key FROM session_attachments');
      const sweeper = running.app.get(AttachmentsSweeper);
      const handed: Array<[string, string]> = [];
      const sweeps: number[] = [];
      await running.app.get(AttachmentsService).take(ownerKey(row!.session_key), 'late', async ({ attachment, stream }) => {
        if (handed.length === 0) {
          // Every file is past this cut-off: only the claim keeps these two.
          const dryRun = await sweeper.removeOutdated({ olderThan: 0, dryRun: true });
          const report = await sweeper.removeOutdated({ olderThan: 0 });
          sweeps.push(dryRun.count, report.count);
        }
        let text = '';
        for await (const chunk of stream) text += String(chunk);
        handed.push([attachment.name, text]);
      });
      assert.deepEqual(sweeps, [0, 0], 'the sweep (and its dry run) found nothing to remove');
      assert.deepEqual(handed, [
        ['a.txt', 'first'],
        ['b.txt', 'second'],
      ]);
      assert.deepEqual(await visitor.json('/attachments/late'), []);
      assert.equal(await running.blobCount(), 0);
    });
  });
}
