// 100,000 expired rows swept while visitors keep uploading: no upload fails, nothing stale stays.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AttachmentsSweeper } from '../../src/attachments/index.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { seedAttachments } from '../support/seed.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { Visitor } from '../support/visitor.js';

const ROWS = 100_000;
const DAY = 24 * 3600_000;

for (const kind of DATABASE_KINDS) {
  describe(`sweeping ${ROWS} rows on ${kind} during uploads`, () => {
    let running: RunningApp;
    before(async () => {
      running = await startApp(kind);
      await seedAttachments(running, ROWS, 2 * DAY);
    });
    after(() => running.close());

    test('every upload succeeds and no expired row or blob remains', async (t) => {
      assert.equal(await running.rowCount(), ROWS);
      let sweeping = true;
      const statuses: number[] = [];
      const uploader = async (visitor: Visitor, id: number) => {
        for (let index = 0; sweeping || index === 0; index += 1) {
          const response = await visitor.upload(`/attachments/live-${id}-${Math.floor(index / 50)}`, [
            ['f', `upload-${index}.txt`, `upload ${index}`],
          ]);
          statuses.push(response.status);
          await response.arrayBuffer();
        }
      };
      const uploads = Promise.all([0, 1].map((id) => uploader(new Visitor(running.baseUrl), id)));
      const report = await running.app.get(AttachmentsSweeper).removeOutdated({ olderThan: DAY });
      sweeping = false;
      await uploads;
      t.diagnostic(
        `${kind}: swept ${report.count} rows in ${Math.round(report.durationMs)} ms (${Math.round(report.count / (report.durationMs / 1000))} rows/s) with ${statuses.length} uploads meanwhile`,
      );
      assert.equal(report.count, ROWS);
      assert.ok(statuses.length >= 2);
      assert.deepEqual(new Set(statuses), new Set([201]));
      assert.equal(await running.rowCount(), statuses.length, 'only the new uploads remain');
      assert.equal(await running.heldFileCount(), statuses.length, 'and only their bytes');
    });
  });
}
