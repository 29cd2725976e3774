// A visitor who replaces or deletes a file of a draft while its submit (take()) is handing the
// draft over: the take hands every file it still holds, skips the one changed before its turn
// (in its row or in the storage alike), and succeeds. It failed with 404 when
// the file's bytes were in the storage (its old bytes were gone by its turn), and gave the
// whole draft back, so the files already handed over were handed again at the next submit.
import { Controller, HttpCode, Param, Post } from '@nestjs/common';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DataSource } from 'typeorm';
import { AttachmentsService, CurrentOwner, DiskStorage, type OwnerKey } from '../../src/attachments/index.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { PLACEMENTS, startApp, type RunningApp } from '../support/test-app.js';
import { Visitor } from '../support/visitor.js';
import { waitFor } from '../support/wait-for.js';

/** The first file's handler waits for the test: the visitor acts while the take runs. */
const gate = { entered: false, open: () => undefined as void };

@Controller('host')
class GatedSubmitController {
  constructor(private readonly attachments: AttachmentsService) {}

  @Post(':bundle/send')
  @HttpCode(200)
  async send(@Param('bundle') bundle: string, @CurrentOwner() owner: OwnerKey): Promise<{ handed: string[]; taken: string[] }> {
    const handed: string[] = [];
    const taken = await this.attachments.take(owner, bundle, async ({ attachment, stream }) => {
      let content = '';
      for await (const chunk of stream as AsyncIterable<Buffer>) content += chunk.toString('utf8');
      if (!gate.entered) {
        gate.entered = true;
        await new Promise<void>((resolve) => (gate.open = resolve));
      }
      handed.push(`${attachment.name}=${content}`);
    });
    return { handed, taken: taken.map((attachment) => attachment.name) };
  }
}

/** A DiskStorage whose delete of `heldKey` waits for `held`: a replaced file's old bytes outlive its replace. */
class HeldDeletes extends DiskStorage {
  heldKey: string | undefined;
  held: Promise<void> | undefined;

  override async delete(key: string): Promise<void> {
    if (key === this.heldKey) await this.held;
    return super.delete(key);
  }
}

for (const kind of DATABASE_KINDS) {
  for (const placement of PLACEMENTS) {
    describe(`a draft changed while take() hands it over on ${kind}, ${placement.name}`, () => {
      let running: RunningApp;
      let storage: HeldDeletes;
      before(async () => {
        const directory = await mkdtemp(join(tmpdir(), 'attachments-take-changed-'));
        storage = new HeldDeletes({ directory });
        running = await startApp(kind, {
          controllers: [GatedSubmitController],
          attachments: { storage, inlineMaxSize: placement.inlineMaxSize },
          attachmentsDirectory: directory,
        });
      });
      after(async () => {
        await running.close();
        await rm(running.attachmentsDirectory, { recursive: true, force: true });
      });

      /** Starts a submit of a.txt, b.txt and c.txt and waits until a.txt is being handed. */
      const startSending = async (visitor: Visitor, bundle: string) => {
        gate.entered = false;
        const upload = await visitor.upload(`/attachments/${bundle}`, [
          ['f', 'a.txt', 'a old'],
          ['f', 'b.txt', 'b old'],
          ['f', 'c.txt', 'c old'],
        ]);
        assert.equal(upload.status, 201);
        const sending = visitor.post(`/host/${bundle}/send`);
        assert.ok(await waitFor(() => gate.entered));
        // Wrapped: an async function's returned promise would be awaited with it.
        return { sending };
      };

      test('a file uploaded again meanwhile is not handed and stays with its new content; the rest go', async () => {
        const visitor = new Visitor(running.baseUrl);
        const { sending } = await startSending(visitor, 'replaced');
        assert.equal((await visitor.upload('/attachments/replaced', [['f', 'b.txt', 'b new']])).status, 201);
        await running.replacedDeleted();
        gate.open();
        const answer = await sending;
        const body = await answer.text();
        assert.equal(answer.status, 200, body);
        const { handed, taken } = JSON.parse(body) as { handed: string[]; taken: string[] };
        assert.ok(handed.includes('a.txt=a old') && handed.includes('c.txt=c old'), body);
        // Neither its new content (never claimed) nor its old one (replaced before its turn),
        // whether the bytes were in the row or in the storage.
        assert.ok(!handed.some((entry) => entry.startsWith('b.txt=')), body);
        assert.deepEqual(
          taken,
          handed.map((entry) => entry.split('=')[0]),
        );
        assert.deepEqual(await visitor.names('replaced'), ['b.txt']);
        assert.equal(await visitor.text('/attachments/replaced/b.txt'), 'b new');
      });

      test('a file uploaded again whose old bytes are still there is not handed either', async () => {
        const visitor = new Visitor(running.baseUrl);
        const { sending } = await startSending(visitor, 'replaced-late');
        const [old] = await running.app
          .get(DataSource)
          .query<Array<{ storage_key: string }>>(
            `SELECT storage_key FROM session_attachments WHERE bundle = 'replaced-late' AND name = 'b.txt'`,
          );
        let release!: () => void;
        storage.held = new Promise<void>((resolve) => (release = resolve));
        storage.heldKey = old!.storage_key;
        assert.equal((await visitor.upload('/attachments/replaced-late', [['f', 'b.txt', 'b new']])).status, 201);
        gate.open();
        const answer = await sending;
        const body = await answer.text();
        release();
        await running.replacedDeleted();
        assert.equal(answer.status, 200, body);
        const { handed, taken } = JSON.parse(body) as { handed: string[]; taken: string[] };
        assert.deepEqual(handed, ['a.txt=a old', 'c.txt=c old']);
        assert.deepEqual(taken, ['a.txt', 'c.txt']);
        assert.equal(await visitor.text('/attachments/replaced-late/b.txt'), 'b new');
      });

      test('a file deleted meanwhile is not handed; the rest go and the bundle is empty', async () => {
        const visitor = new Visitor(running.baseUrl);
        const { sending } = await startSending(visitor, 'deleted');
        assert.equal((await visitor.delete('/attachments/deleted/b.txt')).status, 204);
        gate.open();
        const answer = await sending;
        const body = await answer.text();
        assert.equal(answer.status, 200, body);
        const { handed, taken } = JSON.parse(body) as { handed: string[]; taken: string[] };
        assert.deepEqual(handed, ['a.txt=a old', 'c.txt=c old']);
        assert.deepEqual(taken, ['a.txt', 'c.txt']);
        assert.deepEqual(await visitor.names('deleted'), []);
      });

      if (placement.inlineMaxSize === 0) {
        test('a file that still holds the claim but whose bytes are gone fails the take with 404, and nothing is removed', async () => {
          const visitor = new Visitor(running.baseUrl);
          const { sending } = await startSending(visitor, 'lost');
          // Lost by the storage itself (a disk wiped by hand), not by the visitor: the row keeps its claim.
          const dataSource = running.app.get(DataSource);
          const [row] = await dataSource.query<Array<{ storage_key: string }>>(
            `SELECT storage_key FROM session_attachments WHERE bundle = 'lost' AND name = 'b.txt'`,
          );
          await rm(join(running.attachmentsDirectory, 'blobs', row!.storage_key.slice(0, 2), row!.storage_key));
          gate.open();
          const answer = await sending;
          assert.equal(answer.status, 404, await answer.text());
          assert.deepEqual(await visitor.names('lost'), ['a.txt', 'b.txt', 'c.txt']);
        });
      }
    });
  }
}
