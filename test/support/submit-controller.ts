import { Controller, HttpCode, Param, Post, UseGuards, type CanActivate, type Type } from '@nestjs/common';
import { AttachmentsService, CurrentOwner, type OwnerKey } from '../../src/attachments/index.js';

/**
 * A host's own "submit" route at `POST /host/:bundle/send`, behind the given guards: it takes
 * the bundle of the request's owner and answers whose it was and what it handed over, so that
 * tests see the owner a host route resolves.
 */
export function submitController(...guards: Array<Type<CanActivate> | CanActivate>): Type {
  @Controller('host')
  class SubmitController {
    constructor(private readonly attachments: AttachmentsService) {}

    @Post(':bundle/send')
    @HttpCode(200)
    async send(@Param('bundle') bundle: string, @CurrentOwner() owner: OwnerKey): Promise<{ owner: string; sent: string[] }> {
      const taken = await this.attachments.take(owner, bundle, async ({ stream }) => {
        stream.resume();
      });
      return { owner, sent: taken.map((attachment) => attachment.name) };
    }
  }
  if (guards.length > 0) UseGuards(...guards)(SubmitController);
  return SubmitController;
}
