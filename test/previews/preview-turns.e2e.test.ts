// Making a preview holds its whole source in memory, then sharp's decoded pixels, on libuv's
// thread pool (which the disk storage shares): a burst of first requests for different images
// makes at most two at once in a process; the others wait for a turn, holding nothing, and all
// are answered.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PreviewsService } from '../../src/attachments/previews/previews.service.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { testImage } from '../support/images.js';
import { heldSharp, previewOf } from '../support/previews.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { Visitor } from '../support/visitor.js';
import { waitFor } from '../support/wait-for.js';

for (const kind of DATABASE_KINDS) {
  describe(`previews made at once on ${kind}`, () => {
    let running: RunningApp;
    let previews: ReturnType<typeof heldSharp>;
    before(async () => {
      previews = heldSharp();
      running = await startApp(kind, { attachments: { previews: { sharp: previews.sharp }, inlineMaxSize: 0 } });
    });
    after(() => running.close());

    test('five first requests for five images: two made at once, three waiting, all answered', async () => {
      const visitor = new Visitor(running.baseUrl);
      const widths = [40, 41, 42, 43, 44];
      for (const width of widths) {
        const response = await visitor.upload('/attachments/burst', [
          ['f', `${width}.png`, await testImage(width, 20).png().toBuffer()],
        ]);
        assert.equal(response.status, 201);
      }
      const service = running.app.get(PreviewsService);
      const answers = widths.map((width) => visitor.get(`/attachments/burst/${width}.png/preview`));
      // Every request has arrived: either in sharp or waiting for a turn.
      assert.ok(await waitFor(() => previews.running + service.waitingForTurn === widths.length));
      assert.deepEqual([previews.running, service.waitingForTurn], [2, 3]);
      // Let each run go as it comes: the waiting ones get their turns one by one.
      let released = 0;
      while (released < widths.length) {
        assert.ok(await waitFor(() => previews.held.length > 0));
        previews.held.shift()!();
        released += 1;
      }
      const responses = await Promise.all(answers);
      assert.deepEqual(
        responses.map((response) => response.status),
        Array(widths.length).fill(200),
      );
      const made = await Promise.all(responses.map(async (response) => (await previewOf(response)).width));
      assert.deepEqual(made, widths);
      assert.equal(previews.most, 2);
      assert.equal(service.waitingForTurn, 0);
    });
  });
}
