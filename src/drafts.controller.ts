import { Controller, HttpCode, HttpStatus, Param, Post } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { AttachmentsService, CurrentOwner, type OwnerKey } from './attachments/index.js';

export interface SentFile {
  name: string;
  size: number;
  sha256: string;
}

/**
 * The demo's "submit": what a host app does when the visitor sends their draft. It takes the
 * bundle's files (here it only reads and fingerprints them; a real app would mail or archive
 * them) and the bundle is emptied only if that succeeded.
 */
@Controller('drafts')
export class DraftsController {
  constructor(private readonly attachments: AttachmentsService) {}

  @Post(':bundle/send')
  @HttpCode(HttpStatus.OK)
  async send(@Param('bundle') bundle: string, @CurrentOwner() owner: OwnerKey): Promise<{ bundle: string; sent: SentFile[] }> {
    const sent: SentFile[] = [];
    await this.attachments.take(owner, bundle, async ({ attachment, stream }) => {
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        hash.update(chunk);
        size += chunk.length;
      }
      sent.push({ name: attachment.name, size, sha256: hash.digest('hex') });
    });
    return { bundle, sent };
  }
}
