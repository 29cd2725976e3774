// Durations given as numbers of milliseconds with a fraction (`ms('1d') / 7`): the sweep
// compares its cut-offs with integer columns, which PostgreSQL refuses a fraction for.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AttachmentsSweeper } from '../../src/attachments/index.js';
import { ageAttachments } from '../support/cli.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { Visitor } from '../support/visitor.js';

const HOUR = 3600_000;

for (const kind of DATABASE_KINDS) {
  describe(`a sweep with fractional durations on ${kind}`, () => {
    let running: RunningApp;
    before(async () => {
      running = await startApp(kind, {
        attachments: {
          expireAfter: HOUR + 0.5,
          uploadTimeout: HOUR / 7,
          resumableExpireAfter: (24 * HOUR) / 7,
          sweepEvery: false,
        },
      });
    });
    after(() => running.close());

    test('removes what is older than expireAfter and keeps the rest', async () => {
      const visitor = new Visitor(running.baseUrl);
      await visitor.upload('/attachments/fraction', [
        ['f', 'old.txt', 'old'],
        ['f', 'new.txt', 'new'],
      ]);
      await ageAttachments(running, 2 * HOUR, ['old.txt']);
      const report = await running.app.get(AttachmentsSweeper).sweep();
      assert.equal(report?.outdated.count, 1);
      assert.deepEqual(await visitor.names('fraction'), ['new.txt']);
    });
  });
}
