// Without an `owner` option every request's owner is its session key: adopting a session's
// files into another owner would move them where no request can reach them. The call says so
// instead, and moves nothing.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Request } from 'express';
import { DataSource } from 'typeorm';
import { AttachmentOwners } from '../../src/attachments/index.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { Visitor } from '../support/visitor.js';

describe('adoptAttachments without the owner option', () => {
  let running: RunningApp;
  before(async () => {
    running = await startApp('sqlite', { attachments: { owner: undefined } });
  });
  after(() => running.close());

  test('throws, naming the option, and the files stay the session’s', async () => {
    const visitor = new Visitor(running.baseUrl);
    assert.equal((await visitor.upload('/attachments/draft', [['f', 'a.txt', 'a']])).status, 201);
    const [sessionKey] = await running.app
      .get(DataSource)
      .query<Array<{ session_key: string }>>('SELECT session_key FROM session_attachments');
    const request = { session: { sessionAttachmentsKey: sessionKey!.session_key } } as unknown as Request;
    await assert.rejects(running.app.get(AttachmentOwners).adoptAttachments(request, 'user:1'), /no "owner" option/);
    const listed = await visitor.get('/attachments/draft');
    assert.deepEqual(
      ((await listed.json()) as Array<{ name: string }>).map((attachment) => attachment.name),
      ['a.txt'],
    );
  });
});
