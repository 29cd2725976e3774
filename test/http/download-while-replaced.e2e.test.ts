// A download looks the name up, then opens its bytes. A replacing upload (or a delete) that
// commits in between deletes the old bytes: the download looks the name up once more and
// answers with the new file, or 404 when the name is gone.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DataSource } from 'typeorm';
import { AttachmentsService, ownerKey } from '../../src/attachments/index.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { Visitor } from '../support/visitor.js';
import { InterruptedReads } from '../support/interrupted-reads.js';

for (const kind of DATABASE_KINDS) {
  describe(`a download whose file changes between look-up and read, on ${kind}`, () => {
    let running: RunningApp;
    let storage: InterruptedReads;
    before(async () => {
      const directory = await mkdtemp(join(tmpdir(), 'attachments-interrupted-'));
      storage = new InterruptedReads({ directory });
      running = await startApp(kind, { attachments: { storage, inlineMaxSize: 0 }, attachmentsDirectory: directory });
    });
    after(async () => {
      await running.close();
      await rm(running.attachmentsDirectory, { recursive: true, force: true });
    });

    test('replaced meanwhile: the new file, whole, with its own ETag', async () => {
      const visitor = new Visitor(running.baseUrl);
      assert.equal((await visitor.upload('/attachments/draft', [['f', 'a.txt', 'first']])).status, 201);
      storage.beforeNextRead = async () => {
        const replaced = await visitor.upload('/attachments/draft', [['f', 'a.txt', 'second!']]);
        assert.equal(replaced.status, 201);
        await running.replacedDeleted();
      };
      const response = await visitor.get('/attachments/draft/a.txt');
      assert.equal(response.status, 200);
      assert.equal(await response.text(), 'second!');
      assert.equal(response.headers.get('content-length'), '7');
      assert.equal(storage.beforeNextRead, undefined, 'the read was interrupted');
    });

    test('deleted meanwhile: 404 not_found', async () => {
      const visitor = new Visitor(running.baseUrl);
      assert.equal((await visitor.upload('/attachments/gone', [['f', 'b.txt', 'bytes']])).status, 201);
      storage.beforeNextRead = async () => {
        assert.equal((await visitor.post('/attachments/gone/b.txt/delete')).status, 204);
        await running.replacedDeleted();
      };
      const response = await visitor.get('/attachments/gone/b.txt');
      assert.equal(response.status, 404);
      assert.equal(((await response.json()) as { code: string }).code, 'not_found');
    });

    test("AttachmentsService.open (a host's own read) does the same: the new file", async () => {
      const visitor = new Visitor(running.baseUrl);
      assert.equal((await visitor.upload('/attachments/hosted', [['f', 'c.txt', 'old']])).status, 201);
      const [row] = await running.app
        .get(DataSource)
        .query<Array<{ session_key: string }>>(`SELECT session_key FROM session_attachments WHERE bundle = 'hosted'`);
      storage.beforeNextRead = async () => {
        assert.equal((await visitor.upload('/attachments/hosted', [['f', 'c.txt', 'newer']])).status, 201);
        await running.replacedDeleted();
      };
      const { attachment, stream } = await running.app
        .get(AttachmentsService)
        .open(ownerKey(row!.session_key), 'hosted', 'c.txt');
      let text = '';
      for await (const chunk of stream) text += String(chunk);
      assert.equal(text, 'newer');
      assert.equal(attachment.size, 5);
    });
  });
}
