// A first request for a preview waits for a turn (`previews.concurrency`) for at most the
// preview's time budget: then `503 preview_busy`, not remembered (asked again, it is made).
// A request whose client goes away while it waits leaves the queue at once. Without the bound,
// waiters piled up behind slow renders and waited for ever.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AttachmentErrorBody } from '../../src/attachments/index.js';
import { PreviewsService } from '../../src/attachments/previews/previews.service.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { testImage } from '../support/images.js';
import { heldSharp, previewOf } from '../support/previews.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { Visitor } from '../support/visitor.js';
import { waitFor } from '../support/wait-for.js';

async function uploadImages(visitor: Visitor, bundle: string, widths: number[]): Promise<void> {
  for (const width of widths) {
    const response = await visitor.upload(`/attachments/${bundle}`, [
      ['f', `${width}.png`, await testImage(width, 20).png().toBuffer()],
    ]);
    assert.equal(response.status, 201);
  }
}

/** Lets the next held sharp run go, once one is held. */
async function releaseNext(previews: ReturnType<typeof heldSharp>): Promise<void> {
  assert.ok(await waitFor(() => previews.held.length > 0));
  previews.held.shift()!();
}

for (const kind of DATABASE_KINDS) {
  describe(`waiting for a preview turn on ${kind}`, () => {
    let running: RunningApp;
    let previews: ReturnType<typeof heldSharp>;
    before(async () => {
      previews = heldSharp();
      running = await startApp(kind, {
        // One turn, a budget of one second: the wait's bound, not a margin the test relies on.
        attachments: { previews: { sharp: previews.sharp, timeout: '1s', concurrency: 1 }, inlineMaxSize: 0 },
      });
    });
    after(async () => {
      // A run still held (by a failed test) would keep the app from closing.
      for (const release of previews.held.splice(0)) release();
      await running.close();
    });

    // Without the bound nothing answers the waiter: the test fails at its own time limit.
    test(
      'a waiter with no turn within the budget: 503 preview_busy, and made when asked again',
      { timeout: 60_000 },
      async () => {
        const visitor = new Visitor(running.baseUrl);
        await uploadImages(visitor, 'busy', [30, 40]);
        const slow = visitor.get('/attachments/busy/30.png/preview');
        assert.ok(await waitFor(() => previews.running === 1));
        const waiter = await visitor.get('/attachments/busy/40.png/preview');
        assert.equal(waiter.status, 503);
        assert.match(waiter.headers.get('content-type') ?? '', /^application\/json/);
        const body = (await waiter.json()) as AttachmentErrorBody;
        assert.deepEqual([body.statusCode, body.code], [503, 'preview_busy']);
        assert.equal(running.app.get(PreviewsService).waitingForTurn, 0);
        await releaseNext(previews);
        assert.equal((await slow).status, 200);
        const again = visitor.get('/attachments/busy/40.png/preview');
        await releaseNext(previews);
        const made = await again;
        assert.equal(made.status, 200);
        assert.equal((await previewOf(made)).width, 40);
      },
    );
  });

  describe(`a client gone while its preview waits for a turn, on ${kind}`, () => {
    let running: RunningApp;
    let previews: ReturnType<typeof heldSharp>;
    before(async () => {
      previews = heldSharp();
      running = await startApp(kind, {
        // A budget far longer than the test: leaving the queue can only come from the client going.
        attachments: { previews: { sharp: previews.sharp, timeout: '1h', concurrency: 1 }, inlineMaxSize: 0 },
      });
    });
    after(async () => {
      // A run still held (by a failed test) would keep the app from closing.
      for (const release of previews.held.splice(0)) release();
      await running.close();
    });

    test('leaves the queue at once, and takes no turn', async () => {
      const visitor = new Visitor(running.baseUrl);
      await uploadImages(visitor, 'gone', [30, 40]);
      const service = running.app.get(PreviewsService);
      const slow = visitor.get('/attachments/gone/30.png/preview');
      assert.ok(await waitFor(() => previews.running === 1));
      const client = new AbortController();
      const leaving = visitor.request('GET', '/attachments/gone/40.png/preview', { signal: client.signal });
      assert.ok(await waitFor(() => service.waitingForTurn === 1));
      client.abort();
      await assert.rejects(leaving, { name: 'AbortError' });
      assert.ok(await waitFor(() => service.waitingForTurn === 0), 'still queued after its client went');
      await releaseNext(previews);
      assert.equal((await slow).status, 200);
      // The turn was not handed to the one that left: no other sharp run started.
      assert.equal(previews.running, 0);
      assert.equal(previews.held.length, 0);
    });
  });
}
