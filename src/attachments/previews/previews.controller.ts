import {
  Get,
  HttpStatus,
  Injectable,
  Param,
  Query,
  Req,
  Res,
  UseFilters,
  UseGuards,
  type CanActivate,
  type Type,
} from '@nestjs/common';
import { create as contentDisposition } from 'content-disposition';
import type { Request, Response } from 'express';
import { AttachmentsException } from '../attachments.errors.js';
import { CrossSiteRequestGuard } from '../http/cross-site.guard.js';
import { matchesETag, sendBody, setSafetyHeaders } from '../http/download.js';
import { whenConnectionGone } from '../http/connection-gone.js';
import { AttachmentsFailureFilter } from '../http/failure.filter.js';
import { mountController } from '../http/mount-controller.js';
import { AttachmentOwners } from '../attachment-owners.js';
import type { StoredAttachment } from '../attachments.service.js';
import { DEFAULT_PREVIEW_SIZE, PREVIEW_SIZES } from './previewable-types.js';
import { PreviewsService } from './previews.service.js';

/**
 * `GET …/:bundle/:name/preview[?size=N]`: a WebP thumbnail of an image attachment, with the
 * privacy of its download (another session's attachment is 404) and its safety headers. Its
 * own controller, mounted beside the attachments one, so that the feature stays in one folder.
 */
// @Injectable only so that TypeScript emits the constructor's parameter types (see
// AttachmentsController).
@Injectable()
@UseGuards(CrossSiteRequestGuard)
@UseFilters(AttachmentsFailureFilter)
export class PreviewsController {
  constructor(
    private readonly previews: PreviewsService,
    private readonly owners: AttachmentOwners,
  ) {}

  @Get(':bundle/:name/preview')
  async preview(
    @Req() request: Request,
    @Res() response: Response,
    @Param('bundle') bundle: string,
    @Param('name') name: string,
    @Query('size') sizeParameter: unknown,
  ): Promise<void> {
    const size = previewSize(sizeParameter);
    // The content's hash, the size and how previews are made here name the preview's bytes exactly.
    const etagOf = (attachment: StoredAttachment) => `"${this.previews.validatorOf(attachment, size)}"`;
    // A client that goes while its preview waits for a turn leaves the queue at once.
    const gone = new AbortController();
    const stopWaiting = whenConnectionGone(request.socket, () => gone.abort());
    let opened: Awaited<ReturnType<PreviewsService['findAndOpen']>>;
    try {
      opened = await this.previews.findAndOpen(
        await this.owners.of(request),
        bundle,
        name,
        size,
        (found) => !matchesETag(request.headers['if-none-match'], etagOf(found)),
        gone.signal,
      );
    } catch (error) {
      // Nobody to answer: not an error to render or log.
      if (!gone.signal.aborted) throw error;
      response.destroy();
      return;
    } finally {
      stopWaiting();
    }
    const { attachment, body } = opened;
    setPreviewHeaders(response, attachment.name, etagOf(attachment));
    if (!body) {
      response.status(HttpStatus.NOT_MODIFIED).end();
      return;
    }
    response.status(HttpStatus.OK);
    // As a download's body: let go of when the client goes, even queued on a pipelined connection.
    await sendBody(body, response);
  }
}

/**
 * The download's safety headers. Inline rather than as an attachment: the bytes are a WebP
 * the module made itself, never the visitor's own, and a thumbnail opened in a tab should show.
 */
function setPreviewHeaders(response: Response, name: string, etag: string): void {
  response.setHeader('Content-Type', 'image/webp');
  response.setHeader('Content-Disposition', contentDisposition(`${name}.webp`, { type: 'inline' }));
  setSafetyHeaders(response);
  response.setHeader('ETag', etag);
}

function previewSize(parameter: unknown): number {
  if (parameter === undefined) return DEFAULT_PREVIEW_SIZE;
  const size = typeof parameter === 'string' && /^\d+$/.test(parameter) ? Number(parameter) : NaN;
  if (!PREVIEW_SIZES.includes(size))
    throw AttachmentsException.create('invalid_preview_size', `one of ${PREVIEW_SIZES.join(', ')}`);
  return size;
}

/** The previews controller under the module's configured path, behind the host's guards. */
export function mountPreviewsController(
  path: string,
  guards: Array<Type<CanActivate> | CanActivate> = [],
): Type<PreviewsController> {
  return mountController(PreviewsController, path, guards);
}
