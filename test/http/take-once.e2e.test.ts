// take() hands each file over once: a double submit, a failing handler, a take that died.
import { Controller, Param, Post } from '@nestjs/common';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DataSource } from 'typeorm';
import { AttachmentsService, CurrentSessionKey, type SessionKey } from '../../src/attachments/index.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { Visitor } from '../support/visitor.js';

/** A host submit whose mail server is down: it fails on the first file. */
@Controller('failing')
class FailingSendController {
  constructor(private readonly attachments: AttachmentsService) {}

  @Post(':bundle/send')
  async send(@Param('bundle') bundle: string, @CurrentSessionKey() owner: SessionKey): Promise<void> {
    await this.attachments.take(owner, bundle, async ({ stream }) => {
      stream.resume();
      throw new Error('the mail server is down');
    });
  }
}

const FILES = Array.from({ length: 20 }, (_, index) => `file-${String(index).padStart(2, '0')}.txt`);

interface SendBody {
  sent: Array<{ name: string }>;
}

async function send(visitor: Visitor, bundle: string): Promise<string[]> {
  const response = await visitor.post(`/drafts/${bundle}/send`);
  assert.equal(response.status, 200);
  return ((await response.json()) as SendBody).sent.map((file) => file.name);
}

async function uploadDraft(visitor: Visitor, bundle: string): Promise<void> {
  const content = 'x'.repeat(64 * 1024);
  const response = await visitor.upload(
    `/attachments/${bundle}`,
    FILES.map((name) => ['f', name, content]),
  );
  assert.equal(response.status, 201);
}

for (const kind of DATABASE_KINDS) {
  describe(`take() hands each file once on ${kind}`, () => {
    let running: RunningApp;
    let dataSource: DataSource;
    before(async () => {
      running = await startApp(kind, { controllers: [FailingSendController] });
      dataSource = running.app.get(DataSource);
    });
    after(() => running.close());

    test('two concurrent sends of one draft: the files are split between them, none twice', async () => {
      const visitor = new Visitor(running.baseUrl);
      for (const bundle of ['double-1', 'double-2', 'double-3']) {
        await uploadDraft(visitor, bundle);
        const [first, second] = await Promise.all([send(visitor, bundle), send(visitor, bundle)]);
        const both = [...first, ...second];
        assert.equal(new Set(both).size, both.length, `no file handed twice: ${JSON.stringify([first, second])}`);
        assert.deepEqual(both.sort(), FILES);
        assert.deepEqual(await visitor.names(bundle), []);
      }
    });

    test('a failing handler releases the claim: the next send hands every file', async () => {
      const visitor = new Visitor(running.baseUrl);
      await uploadDraft(visitor, 'fails-once');
      assert.equal((await visitor.post('/failing/fails-once/send')).status, 500);
      assert.deepEqual(await visitor.names('fails-once'), FILES);
      assert.deepEqual(await send(visitor, 'fails-once'), FILES);
    });

    test('files another take holds are not handed; a claim older than uploadTimeout is taken over', async () => {
      const visitor = new Visitor(running.baseUrl);
      await uploadDraft(visitor, 'held');
      // A take in another process holds the files, claimed just now.
      await dataSource.query(
        `UPDATE session_attachments SET claim = 'elsewhere', claimed_at = ${Date.now()} WHERE bundle = 'held'`,
      );
      assert.deepEqual(await send(visitor, 'held'), []);
      assert.deepEqual(await visitor.names('held'), FILES, 'the files stay for the other take');
      // That process died: its claim is older than the upload timeout (default 1 h).
      await dataSource.query(`UPDATE session_attachments SET claimed_at = ${Date.now() - 2 * 3600_000} WHERE bundle = 'held'`);
      assert.deepEqual(await send(visitor, 'held'), FILES);
    });

    test('a file uploaded again while a take holds it loses the claim and stays', async () => {
      const visitor = new Visitor(running.baseUrl);
      await uploadDraft(visitor, 'replaced');
      await dataSource.query(
        `UPDATE session_attachments SET claim = 'elsewhere', claimed_at = ${Date.now()} WHERE bundle = 'replaced'`,
      );
      assert.equal((await visitor.upload('/attachments/replaced', [['f', FILES[0]!, 'new content']])).status, 201);
      assert.deepEqual(await send(visitor, 'replaced'), [FILES[0]]);
    });
  });
}
