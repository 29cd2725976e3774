// A preview's source read that stalls (an S3 connection that stops answering) gives up within
// the preview's time budget with `503 storage_unavailable`, and lets go of its turn: without a
// deadline it kept the turn for good, and every first preview of the process waited behind it.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { DiskStorage } from '../../src/attachments/index.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { testImage } from '../support/images.js';
import { previewOf } from '../support/previews.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { Visitor } from '../support/visitor.js';
import { waitFor } from '../support/wait-for.js';

/** A DiskStorage whose next read stalls: before it opens (`open`) or after (`body`, no byte ever). */
class StallingReads extends DiskStorage {
  stallNext: 'open' | 'body' | undefined;

  override async read(key: string, range?: { start: number; end: number }): Promise<Readable> {
    const stall = this.stallNext;
    this.stallNext = undefined;
    if (stall === 'open') return new Promise<Readable>(() => undefined);
    if (stall === 'body') return new Readable({ read() {} });
    return super.read(key, range);
  }
}

for (const kind of DATABASE_KINDS) {
  describe(`a preview whose source read stalls, on ${kind}`, () => {
    let running: RunningApp;
    let storage: StallingReads;
    before(async () => {
      const directory = await mkdtemp(join(tmpdir(), 'attachments-preview-stall-'));
      storage = new StallingReads({ directory });
      running = await startApp(kind, {
        // One turn, one second: the stalled read must give it back for the next preview to be made.
        attachments: { storage, previews: { sharp, timeout: '1s', concurrency: 1 }, inlineMaxSize: 0 },
        attachmentsDirectory: directory,
      });
    });
    after(async () => {
      await running.close();
      await rm(running.attachmentsDirectory, { recursive: true, force: true });
    });

    for (const stall of ['open', 'body'] as const) {
      // Without the deadline nothing ever answers: the test fails at its own time limit, never hangs.
      const title = `stalled ${stall === 'open' ? 'before it opens' : 'in its body'}: 503 storage_unavailable, and the next preview is made`;
      test(title, { timeout: 60_000 }, async () => {
        const visitor = new Visitor(running.baseUrl);
        const bundle = `stall-${stall}`;
        for (const [name, width] of [
          ['stuck.png', 30],
          ['next.png', 40],
        ] as const) {
          const response = await visitor.upload(`/attachments/${bundle}`, [
            ['f', name, await testImage(width, 20).png().toBuffer()],
          ]);
          assert.equal(response.status, 201);
        }
        storage.stallNext = stall;
        const stuck = visitor.get(`/attachments/${bundle}/stuck.png/preview`);
        // Its read holds the turn before the next one asks (else the next one's read would stall).
        assert.ok(await waitFor(() => storage.stallNext === undefined));
        const waiting = visitor.get(`/attachments/${bundle}/next.png/preview`);
        const answer = await stuck;
        assert.equal(answer.status, 503);
        assert.equal(((await answer.json()) as { code: string }).code, 'storage_unavailable');
        // The one waiting behind it had a budget as long as the stalled read's: it got the turn
        // given back, or its own wait ran out first (503 preview_busy). Which is a race.
        const waited = await waiting;
        const outcome = waited.status === 200 ? 'made' : ((await waited.json()) as { code: string }).code;
        assert.ok(['made', 'preview_busy'].includes(outcome), `the waiting one answered ${outcome}`);
        // The turn is free again: asked now, the next preview is made.
        const next = waited.status === 200 ? waited : await visitor.get(`/attachments/${bundle}/next.png/preview`);
        assert.equal(next.status, 200);
        assert.equal((await previewOf(next)).width, 40);
        // Not remembered as unpreviewable: asked again, it is made.
        const again = await visitor.get(`/attachments/${bundle}/stuck.png/preview`);
        assert.equal(again.status, 200);
      });
    }
  });
}
