// The host-app API: take() on a "send draft" route, list/open/clear, and login regeneration.
import { Controller, HttpCode, Param, Post, Req, Get } from '@nestjs/common';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Request } from 'express';
import type { Store } from 'express-session';
import {
  AttachmentsService,
  CurrentSessionKey,
  regenerateSessionKeepingAttachments,
  type SessionKey,
} from '../../src/attachments/index.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { CollectingLogger, startApp, type RunningApp } from '../support/test-app.js';
import { Visitor, type AttachmentBody } from '../support/visitor.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** A host controller whose submit fails half-way, and a login route. */
@Controller('host')
class HostController {
  constructor(private readonly attachments: AttachmentsService) {}

  @Post(':bundle/send-and-fail')
  async sendAndFail(@Param('bundle') bundle: string, @CurrentSessionKey() owner: SessionKey): Promise<void> {
    let handed = 0;
    await this.attachments.take(owner, bundle, async ({ stream }) => {
      handed += 1;
      stream.resume();
      if (handed === 2) throw new Error('the mail server is down');
    });
  }

  @Get(':bundle/summary')
  async summary(@Param('bundle') bundle: string, @CurrentSessionKey() owner: SessionKey) {
    const list = await this.attachments.list(owner, bundle);
    const first = list[0] ? await this.attachments.open(owner, bundle, list[0].name) : undefined;
    let text = '';
    if (first) for await (const chunk of first.stream) text += String(chunk);
    return { names: list.map((a) => a.name), first: text };
  }

  @Post(':bundle/clear')
  @HttpCode(204)
  clear(@Param('bundle') bundle: string, @CurrentSessionKey() owner: SessionKey): Promise<void> {
    return this.attachments.clear(owner, bundle);
  }

  @Post('login')
  @HttpCode(204)
  login(@Req() request: Request): Promise<void> {
    return regenerateSessionKeepingAttachments(request);
  }
}

for (const kind of DATABASE_KINDS) {
  describe(`host-app API on ${kind}`, () => {
    let running: RunningApp;
    before(async () => {
      running = await startApp(kind, { controllers: [HostController] });
    });
    after(() => running.close());

    test('the demo "send draft" route consumes the bundle and leaves it empty', async () => {
      const visitor = new Visitor(running.baseUrl);
      await visitor.upload('/attachments/draft-1', [
        ['f', 'b.txt', 'bee'],
        ['f', 'a.txt', 'ay'],
      ]);
      const blobs = await running.heldFileCount();
      const response = await visitor.post('/drafts/draft-1/send');
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), {
        bundle: 'draft-1',
        sent: [
          { name: 'a.txt', size: 2, sha256: sha256('ay') },
          { name: 'b.txt', size: 3, sha256: sha256('bee') },
        ],
      });
      assert.deepEqual(await visitor.json('/attachments/draft-1'), []);
      assert.equal(await running.heldFileCount(), blobs - 2);
    });

    test('sending takes only the visitor own files', async () => {
      const alice = new Visitor(running.baseUrl);
      const bob = new Visitor(running.baseUrl);
      await alice.upload('/attachments/draft-2', [['f', 'mine.txt', 'alice']]);
      await bob.upload('/attachments/draft-2', [['f', 'mine.txt', 'bob']]);
      const sent = (await (await bob.post('/drafts/draft-2/send')).json()) as { sent: Array<{ sha256: string }> };
      assert.deepEqual(
        sent.sent.map((file) => file.sha256),
        [sha256('bob')],
      );
      assert.equal(await alice.text('/attachments/draft-2/mine.txt'), 'alice');
    });

    test('when the handler throws, nothing is removed', async () => {
      const visitor = new Visitor(running.baseUrl);
      await visitor.upload('/attachments/draft-3', [
        ['f', '1.txt', 'one'],
        ['f', '2.txt', 'two'],
        ['f', '3.txt', 'three'],
      ]);
      const response = await visitor.post('/host/draft-3/send-and-fail');
      assert.equal(response.status, 500);
      assert.deepEqual(
        (await visitor.json<AttachmentBody[]>('/attachments/draft-3')).map((a) => a.name),
        ['1.txt', '2.txt', '3.txt'],
      );
      assert.equal(await visitor.text('/attachments/draft-3/1.txt'), 'one');
    });

    test('list, open and clear work for the current visitor from host code', async () => {
      const visitor = new Visitor(running.baseUrl);
      await visitor.upload('/attachments/draft-4', [
        ['f', 'x.txt', 'ex'],
        ['f', 'y.txt', 'why'],
      ]);
      assert.deepEqual(await visitor.json('/host/draft-4/summary'), { names: ['x.txt', 'y.txt'], first: 'ex' });
      assert.equal((await visitor.post('/host/draft-4/clear')).status, 204);
      assert.deepEqual(await visitor.json('/attachments/draft-4'), []);
    });

    test('attachments survive a session regeneration at login', async () => {
      const visitor = new Visitor(running.baseUrl);
      await visitor.upload('/attachments/draft-5', [['f', 'kept.txt', 'kept']]);
      const before = visitor.cookie;
      assert.equal((await visitor.post('/host/login')).status, 204);
      assert.notEqual(visitor.cookie, before, 'a new session id');
      assert.equal(await visitor.text('/attachments/draft-5/kept.txt'), 'kept');
      // The old session is gone: its cookie no longer reaches the files.
      const oldSession = new Visitor(running.baseUrl);
      oldSession.cookie = before;
      assert.equal((await oldSession.get('/attachments/draft-5/kept.txt')).status, 404);
    });
  });
}

describe('without session middleware', () => {
  let running: RunningApp;
  before(async () => {
    running = await startApp('sqlite', { session: false });
  });
  after(() => running.close());

  test('the module answers with a message that says what to add', async () => {
    const response = await new Visitor(running.baseUrl).get('/attachments/foo');
    assert.equal(response.status, 500);
    const body = (await response.json()) as { code: string; message: string };
    assert.equal(body.code, 'session_middleware_missing');
    assert.match(body.message, /express-session/);
    assert.match(body.message, /app\.use\(session\(/);
  });
});

describe('with express-session whose store is disconnected', () => {
  let running: RunningApp;
  let store: Store | undefined;
  const logger = new CollectingLogger();
  before(async () => {
    running = await startApp('sqlite', {
      logger,
      // Runs after express-session: every request that got a session carries its store.
      beforeListen: (app) =>
        app.use((request: Request, _response: unknown, next: () => void) => {
          store ??= request.sessionStore;
          next();
        }),
    });
  });
  after(() => running.close());

  const missingSessionErrors = () =>
    logger.entries.filter((entry) => entry.level === 'error' && /found no session/.test(entry.message)).length;

  test('the answer names the store as a cause, the log says it once per outage, and the files are back after', async () => {
    const visitor = new Visitor(running.baseUrl);
    assert.equal((await visitor.upload('/attachments/outage', [['f', 'a.txt', 'a']])).status, 201);
    assert.ok(store, 'the session store was seen');
    store.emit('disconnect');
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const during = await visitor.get('/attachments/outage');
      assert.equal(during.status, 500);
      const body = (await during.json()) as { code: string; message: string };
      assert.equal(body.code, 'session_middleware_missing');
      assert.match(body.message, /store is disconnected/);
    }
    assert.equal(missingSessionErrors(), 1, 'logged once for two requests');
    store.emit('connect');
    assert.deepEqual(
      (await visitor.json<Array<{ name: string }>>('/attachments/outage')).map((attachment) => attachment.name),
      ['a.txt'],
    );
    store.emit('disconnect');
    assert.equal((await visitor.get('/attachments/outage')).status, 500);
    store.emit('connect');
    assert.equal(missingSessionErrors(), 2, 'a second outage is logged again');
  });
});
