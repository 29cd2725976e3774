// A feature module of the host uses the module's service and @CurrentOwner() without calling
// forRoot again (a second call would mount the routes twice and run a second sweep).
import { Controller, Get, Injectable, Module, UseGuards } from '@nestjs/common';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  AttachmentsModule,
  AttachmentsService,
  CrossSiteRequestGuard,
  CurrentOwner,
  type OwnerKey,
} from '../../src/attachments/index.js';
import { startContext } from '../support/attachments-context.js';

@Injectable()
class DraftMailer {
  constructor(readonly attachments: AttachmentsService) {}
}

@Controller('drafts')
@UseGuards(CrossSiteRequestGuard)
class DraftsController {
  @Get(':bundle')
  owner(@CurrentOwner() owner: OwnerKey): OwnerKey {
    return owner;
  }
}

/** Imports nothing of the attachments module. */
@Module({ providers: [DraftMailer], controllers: [DraftsController] })
class DraftsModule {}

@Module({ providers: [DraftMailer] })
class MailerModule {}

describe('a feature module of the host', () => {
  test('with isGlobal, its providers inject AttachmentsService (the one instance) and its routes use @CurrentOwner() and CrossSiteRequestGuard', async () => {
    const context = await startContext([AttachmentsModule.forRoot({ isGlobal: true, sweepEvery: false }), DraftsModule]);
    try {
      assert.equal(context.get(DraftMailer).attachments, context.get(AttachmentsService));
    } finally {
      await context.close();
    }
  });

  test("without isGlobal, Nest's own error names the missing AttachmentsService", async () => {
    await assert.rejects(
      startContext([AttachmentsModule.forRoot({ sweepEvery: false }), MailerModule]),
      /Nest can't resolve dependencies of the DraftMailer \(\?\)\. Please make sure that the argument AttachmentsService at index \[0\] is available in the MailerModule module/,
    );
    await assert.rejects(
      startContext([AttachmentsModule.forRoot({ isGlobal: false, sweepEvery: false }), MailerModule]),
      /can't resolve dependencies of the DraftMailer/,
    );
  });

  test("a host module that imports forRoot once and re-exports it gives its importers the service (the README's other way)", async () => {
    @Module({ imports: [AttachmentsModule.forRoot({ sweepEvery: false })], exports: [AttachmentsModule] })
    class HostAttachmentsModule {}
    @Module({ imports: [HostAttachmentsModule], providers: [DraftMailer], controllers: [DraftsController] })
    class ReexportedDraftsModule {}
    const context = await startContext([HostAttachmentsModule, ReexportedDraftsModule]);
    try {
      assert.equal(context.get(DraftMailer).attachments, context.get(AttachmentsService));
    } finally {
      await context.close();
    }
  });

  test('isGlobal must be a boolean, checked when the module is defined', () => {
    assert.throws(
      () => AttachmentsModule.forRoot({ isGlobal: 'yes' as never }),
      /AttachmentsModule option "isGlobal" must be true or false/,
    );
    assert.equal(AttachmentsModule.forRoot({ isGlobal: true }).global, true);
    assert.equal(AttachmentsModule.forRootAsync({ isGlobal: true, useFactory: () => ({}) }).global, true);
    assert.equal(AttachmentsModule.forRoot({}).global, false);
  });
});
