// A host's own "submit" route with the module's guard and error mapping gives the answers the
// module's routes give: 403 cross_site_request, and 503 database_unavailable.
import { Controller, HttpCode, Param, Post, UseFilters, UseGuards } from '@nestjs/common';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  AttachmentsFailureFilter,
  AttachmentsService,
  CrossSiteRequestGuard,
  CurrentSessionKey,
  type SessionKey,
} from '../../src/attachments/index.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { Visitor } from '../support/visitor.js';

@Controller('host')
@UseGuards(CrossSiteRequestGuard)
@UseFilters(AttachmentsFailureFilter)
class GuardedHostController {
  constructor(private readonly attachments: AttachmentsService) {}

  @Post(':bundle/send')
  @HttpCode(200)
  async send(@Param('bundle') bundle: string, @CurrentSessionKey() owner: SessionKey): Promise<{ sent: number }> {
    const taken = await this.attachments.take(owner, bundle, async ({ stream }) => {
      stream.resume();
    });
    return { sent: taken.length };
  }

  /** What a submit meets when the connection pool cannot reach the database. */
  @Post('unreachable')
  unreachable(): never {
    throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
  }
}

for (const kind of DATABASE_KINDS) {
  describe(`a host route with CrossSiteRequestGuard and AttachmentsFailureFilter on ${kind}`, () => {
    let running: RunningApp;
    before(async () => {
      running = await startApp(kind, { controllers: [GuardedHostController] });
    });
    after(() => running.close());

    test('a cross-site POST is refused with 403 cross_site_request and takes nothing', async () => {
      const visitor = new Visitor(running.baseUrl);
      assert.equal((await visitor.upload('/attachments/draft', [['file', 'a.txt', 'a']])).status, 201);
      const refused = await visitor.request('POST', '/host/draft/send', { headers: { 'sec-fetch-site': 'cross-site' } });
      assert.equal(refused.status, 403);
      assert.equal(((await refused.json()) as { code: string }).code, 'cross_site_request');
      const foreign = await visitor.request('POST', '/host/draft/send', { headers: { origin: 'https://evil.example' } });
      assert.equal(foreign.status, 403);
      assert.deepEqual(await visitor.names('draft'), ['a.txt']);
      const sent = await visitor.request('POST', '/host/draft/send', { headers: { 'sec-fetch-site': 'same-origin' } });
      assert.equal(sent.status, 200);
      assert.deepEqual(await sent.json(), { sent: 1 });
    });

    test('an unreachable database is 503 database_unavailable, as on the module routes', async () => {
      const response = await new Visitor(running.baseUrl).request('POST', '/host/unreachable');
      assert.equal(response.status, 503);
      assert.equal(((await response.json()) as { code: string }).code, 'database_unavailable');
    });
  });
}
