import {
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  Inject,
  Injectable,
  Param,
  Post,
  Req,
  Res,
  UseFilters,
  UseGuards,
  type CanActivate,
  type Type,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import type { ReadRange } from './attachment.js';
import { RESOLVED_ATTACHMENTS_OPTIONS } from './attachments.tokens.js';
import { isAttachmentsException } from './attachments.errors.js';
import type { ResolvedAttachmentsOptions } from './attachments.options.js';
import { AttachmentsService } from './attachments.service.js';
import { bundleUrlOf, toAttachmentJson, type AttachmentJson } from './http/attachment-json.js';
import { AttachmentListJson } from './http/attachment-list-json.js';
import { CrossSiteRequestGuard } from './http/cross-site.guard.js';
import { matchesETag, requestedRange, sendBody, setDownloadHeaders } from './http/download.js';
import { AttachmentsFailureFilter } from './http/failure.filter.js';
import { mountController } from './http/mount-controller.js';
import { multipartFiles } from './http/multipart-files.js';
import { AttachmentOwners } from './attachment-owners.js';

/**
 * HTTP only: parse, call the service, shape the response. Routes follow the original app
 * (`POST …/delete` forms included) plus REST verbs; Express ignores a trailing slash.
 * Mounted under the configured path by `mountAttachmentsController`.
 */
// @Injectable only so that TypeScript emits the constructor's parameter types, which the
// mounted subclass inherits. Its OpenAPI description is applied by the `/openapi` entry
// (documentAttachmentsRoutes), so an app without @nestjs/swagger never loads it.
@Injectable()
@UseGuards(CrossSiteRequestGuard)
@UseFilters(AttachmentsFailureFilter)
export class AttachmentsController {
  constructor(
    private readonly attachments: AttachmentsService,
    @Inject(RESOLVED_ATTACHMENTS_OPTIONS) private readonly options: ResolvedAttachmentsOptions,
    private readonly owners: AttachmentOwners,
  ) {}

  @Post(':bundle')
  @HttpCode(HttpStatus.CREATED)
  async upload(@Req() request: Request, @Param('bundle') bundle: string): Promise<AttachmentJson[]> {
    const owner = await this.owners.of(request);
    const saved = await this.attachments.save(owner, bundle, multipartFiles(request, this.options));
    const bundleUrl = bundleUrlOf(request.originalUrl);
    return saved.map((attachment) => toAttachmentJson(attachment, bundleUrl, this.options.previews !== undefined));
  }

  @Get(':bundle')
  async list(@Req() request: Request, @Res() response: Response, @Param('bundle') bundle: string): Promise<void> {
    const owner = await this.owners.of(request);
    const json = new AttachmentListJson(bundleUrlOf(request.originalUrl), this.options.previews !== undefined);
    await this.attachments.visitEntries(owner, bundle, (entry) => json.add(entry));
    const body = json.finish();
    // What Nest's res.json would send (Express's send still adds the ETag and answers 304),
    // from bytes made without one large string: see attachment-list-json.ts.
    response.setHeader('Content-Type', 'application/json; charset=utf-8');
    response.send(body);
  }

  @Get(':bundle/:name')
  async download(
    @Req() request: Request,
    @Res() response: Response,
    @Param('bundle') bundle: string,
    @Param('name') name: string,
  ): Promise<void> {
    let range: ReadRange | undefined;
    let notModified = false;
    const { attachment, body } = await this.attachments.findAndRead(await this.owners.of(request), bundle, name, (found) => {
      // The file's headers go out only with an answer that is the file (200, 206, 304): an
      // error answer set up with them would carry the file's name and ETag, and its JSON body
      // would meet the file's Content-Type (which Nest's Express adapter warns about).
      notModified = matchesETag(request.headers['if-none-match'], `"${found.sha256}"`);
      if (notModified) return null;
      try {
        range = requestedRange(request, found);
      } catch (error) {
        if (isAttachmentsException(error, 'range_not_satisfiable')) response.setHeader('Content-Range', `bytes */${found.size}`);
        throw error;
      }
      const length = range ? range.end - range.start + 1 : found.size;
      return request.method === 'HEAD' || length === 0 ? null : range;
    });
    setDownloadHeaders(response, attachment);
    if (notModified) {
      response.status(HttpStatus.NOT_MODIFIED).end();
      return;
    }
    response.status(range ? HttpStatus.PARTIAL_CONTENT : HttpStatus.OK);
    response.setHeader('Content-Length', String(range ? range.end - range.start + 1 : attachment.size));
    if (range) response.setHeader('Content-Range', `bytes ${range.start}-${range.end}/${attachment.size}`);
    if (!body) {
      response.end();
      return;
    }
    await sendBody(body, response);
  }

  @Post(':bundle/delete')
  @HttpCode(HttpStatus.NO_CONTENT)
  async clearByPost(@Req() request: Request, @Param('bundle') bundle: string): Promise<void> {
    return this.attachments.clear(await this.owners.of(request), bundle);
  }

  @Delete(':bundle')
  @HttpCode(HttpStatus.NO_CONTENT)
  async clear(@Req() request: Request, @Param('bundle') bundle: string): Promise<void> {
    return this.attachments.clear(await this.owners.of(request), bundle);
  }

  @Post(':bundle/:name/delete')
  @HttpCode(HttpStatus.NO_CONTENT)
  async removeByPost(@Req() request: Request, @Param('bundle') bundle: string, @Param('name') name: string): Promise<void> {
    return this.attachments.remove(await this.owners.of(request), bundle, name);
  }

  @Delete(':bundle/:name')
  @HttpCode(HttpStatus.NO_CONTENT)
  async remove(@Req() request: Request, @Param('bundle') bundle: string, @Param('name') name: string): Promise<void> {
    return this.attachments.remove(await this.owners.of(request), bundle, name);
  }
}

/** The controller under the module's configured path, behind the host's guards. */
export function mountAttachmentsController(
  path: string,
  guards: Array<Type<CanActivate> | CanActivate> = [],
): Type<AttachmentsController> {
  return mountController(AttachmentsController, path, guards);
}
