// Two instances on one database and one storage: concurrent first requests for the same
// content's preview, on both at once, keep exactly one stored preview. Each instance makes at
// most one (they share nothing in memory); the table's unique key decides which is kept, and
// the other instance deletes its copy and serves the kept one.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../support/databases.js';
import { testImage } from '../support/images.js';
import { countingSharp, previewRowCount } from '../support/previews.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { Visitor } from '../support/visitor.js';

for (const kind of DATABASE_KINDS) {
  describe(`previews across instances on ${kind}`, () => {
    let database: TestDatabase;
    let attachmentsDirectory: string;
    const sharps = [countingSharp(), countingSharp()];
    let instances: RunningApp[];
    before(async () => {
      database = await createTestDatabase(kind);
      attachmentsDirectory = await mkdtemp(join(tmpdir(), 'attachments-shared-'));
      instances = [];
      // One after the other: the first applies the migrations.
      for (const { sharp } of sharps) {
        instances.push(await startApp(kind, { database, attachmentsDirectory, attachments: { previews: { sharp } } }));
      }
    });
    after(async () => {
      for (const instance of instances) await instance.close();
      await database.drop();
      await rm(attachmentsDirectory, { recursive: true, force: true });
    });

    test('ten first requests split over two instances store one preview', async () => {
      const photo = await testImage(1600, 1200).jpeg().toBuffer();
      // Sessions live in each instance's memory here, so each has its own visitor, holding the same photo.
      const visitors = instances.map((instance) => new Visitor(instance.baseUrl));
      for (const visitor of visitors) {
        assert.equal((await visitor.upload('/attachments/shared', [['f', 'photo.jpg', photo]])).status, 201);
      }
      const responses = await Promise.all(
        Array.from({ length: 10 }, (_, index) => visitors[index % 2]!.get('/attachments/shared/photo.jpg/preview')),
      );
      const bodies = await Promise.all(responses.map(async (response) => Buffer.from(await response.arrayBuffer())));
      assert.deepEqual(
        responses.map((response) => response.status),
        Array(10).fill(200),
      );
      for (const body of bodies) assert.deepEqual(body, bodies[0]);
      assert.equal(await previewRowCount(instances[0]!), 1);
      assert.equal(await instances[0]!.blobCount(), 3, 'two attachments and one preview');
      for (const sharp of sharps) assert.ok(sharp.calls() <= 1, `an instance made it ${sharp.calls()} times`);
    });
  });
}
