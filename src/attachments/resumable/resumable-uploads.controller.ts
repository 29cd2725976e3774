import {
  Catch,
  Delete,
  Head,
  HttpStatus,
  Inject,
  Injectable,
  Options,
  Param,
  Patch,
  Post,
  Req,
  Res,
  UseFilters,
  UseGuards,
  type ArgumentsHost,
  type CanActivate,
  type Type,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { AttachmentOwners } from '../attachment-owners.js';
import { AttachmentsException, isAttachmentsException } from '../attachments.errors.js';
import type { ResolvedAttachmentsOptions } from '../attachments.options.js';
import { RESOLVED_ATTACHMENTS_OPTIONS } from '../attachments.tokens.js';
import { toAttachmentJson } from '../http/attachment-json.js';
import { CrossSiteRequestGuard } from '../http/cross-site.guard.js';
import { AttachmentsFailureFilter } from '../http/failure.filter.js';
import { mountController } from '../http/mount-controller.js';
import { patchBody } from './patch-body.js';
import { ResumableUploads, type UploadState } from './resumable-uploads.service.js';
import { parseUploadMetadata, uploadName } from './upload-metadata.js';

export const TUS_VERSION = '1.0.0';
export const TUS_EXTENSIONS = 'creation,creation-with-upload,termination,expiration';
const PATCH_CONTENT_TYPE = 'application/offset+octet-stream';

/**
 * The response headers a tus client on another origin must be able to read: list them in the
 * host's CORS `exposedHeaders` (`app.enableCors({ origin, credentials: true, exposedHeaders })`).
 */
export const TUS_EXPOSED_HEADERS: readonly string[] = [
  'Location',
  'Upload-Offset',
  'Upload-Length',
  'Upload-Metadata',
  'Upload-Expires',
  'Tus-Resumable',
  'Tus-Version',
  'Tus-Extension',
  'Tus-Max-Size',
  'Attachment',
];
const WHOLE_NUMBER = /^\d{1,16}$/;

/** Every answer of a tus route, an error's too, says which protocol it speaks. */
@Catch()
export class TusFailureFilter extends AttachmentsFailureFilter {
  override catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    if (!response.headersSent) {
      response.setHeader('Tus-Resumable', TUS_VERSION);
      if (isAttachmentsException(exception, 'tus_version_unsupported')) response.setHeader('Tus-Version', TUS_VERSION);
    }
    super.catch(exception, host);
  }
}

/**
 * tus 1.0 (core protocol, creation, creation-with-upload, termination, expiration) under the
 * module's path: `…/:bundle/tus` creates, `…/:bundle/tus/:id` continues. HTTP only: headers in,
 * headers out; the rules live in ResumableUploads. Bodiless answers end with `end()` and no
 * callback (express-session's `res.end` wrapper loses one: expressjs/session#477). `GET` and
 * `DELETE …/:bundle/tus` stay the attachment routes of a file named `tus`.
 */
// @Injectable only so that TypeScript emits the constructor's parameter types (see
// AttachmentsController).
@Injectable()
@UseGuards(CrossSiteRequestGuard)
@UseFilters(TusFailureFilter)
export class ResumableUploadsController {
  constructor(
    private readonly uploads: ResumableUploads,
    private readonly owners: AttachmentOwners,
    @Inject(RESOLVED_ATTACHMENTS_OPTIONS) private readonly options: ResolvedAttachmentsOptions,
  ) {}

  @Options(':bundle/tus')
  async describeCreation(@Req() request: Request, @Res() response: Response): Promise<void> {
    await this.owners.of(request);
    this.describe(response);
  }

  @Options(':bundle/tus/:id')
  async describeUpload(@Req() request: Request, @Res() response: Response): Promise<void> {
    await this.owners.of(request);
    this.describe(response);
  }

  @Post(':bundle/tus')
  async create(@Req() request: Request, @Res() response: Response, @Param('bundle') bundle: string): Promise<void> {
    const withUpload = isPatchBody(request);
    try {
      assertTusVersion(request);
      const owner = await this.owners.of(request);
      const metadata = header(request, 'upload-metadata');
      const declared = {
        length: uploadLength(request),
        metadata: metadata ?? null,
        name: uploadName(parseUploadMetadata(metadata ?? '')),
      };
      let state = await this.uploads.create(owner, bundle, declared);
      const tusUrl = pathOf(request.originalUrl);
      if (withUpload && !state.attachment && state.upload.length > 0) {
        const body = patchBody(request, this.options);
        const created = state.upload;
        try {
          state = await this.uploads.append(owner, bundle, created.id, 0, body.stream, body.declaredLength);
        } catch (error) {
          body.abandon();
          // The answer will not name the upload: nobody could resume it.
          await this.uploads.forgetUnannounced(created);
          throw error;
        }
        // A client gone mid-body never hears the upload's URL either.
        if (body.end() === 'client_gone' && !state.attachment) await this.uploads.forgetUnannounced(created);
      } else {
        drain(request);
      }
      response.status(HttpStatus.CREATED);
      response.setHeader('Location', `${tusUrl}/${state.upload.id}`);
      response.setHeader('Upload-Offset', String(state.upload.offset));
      this.stateHeaders(response, state, tusUrl.replace(/\/tus$/, ''));
      response.end();
    } catch (error) {
      drain(request);
      throw error;
    }
  }

  @Head(':bundle/tus/:id')
  async status(
    @Req() request: Request,
    @Res() response: Response,
    @Param('bundle') bundle: string,
    @Param('id') id: string,
  ): Promise<void> {
    assertTusVersion(request);
    const upload = await this.uploads.find(await this.owners.of(request), bundle, id);
    response.status(HttpStatus.OK);
    response.setHeader('Tus-Resumable', TUS_VERSION);
    response.setHeader('Cache-Control', 'no-store');
    response.setHeader('Upload-Offset', String(upload.offset));
    response.setHeader('Upload-Length', String(upload.length));
    if (upload.metadata !== null) response.setHeader('Upload-Metadata', upload.metadata);
    if (upload.finishedAt === null) response.setHeader('Upload-Expires', this.uploads.expiresAt(upload).toUTCString());
    // Without a length, Node cannot delimit a HEAD answer and closes the connection after it.
    response.setHeader('Content-Length', '0');
    response.end();
  }

  @Patch(':bundle/tus/:id')
  async append(
    @Req() request: Request,
    @Res() response: Response,
    @Param('bundle') bundle: string,
    @Param('id') id: string,
  ): Promise<void> {
    let body;
    try {
      assertTusVersion(request);
      const owner = await this.owners.of(request);
      if (!isPatchBody(request)) {
        throw AttachmentsException.create('invalid_patch_content_type', `got ${request.headers['content-type'] ?? 'none'}`);
      }
      const offset = header(request, 'upload-offset');
      if (offset === undefined || !WHOLE_NUMBER.test(offset)) throw AttachmentsException.create('invalid_upload_offset');
      body = patchBody(request, this.options);
      const state = await this.uploads.append(owner, bundle, id, Number(offset), body.stream, body.declaredLength);
      // The bytes that arrived count; a client that stalled hears so, and resumes after a HEAD.
      if (body.end() === 'timed_out' && !state.attachment) throw AttachmentsException.create('upload_timeout');
      response.status(HttpStatus.NO_CONTENT);
      response.setHeader('Upload-Offset', String(state.upload.offset));
      this.stateHeaders(response, state, pathOf(request.originalUrl).replace(/\/tus\/[^/]+$/, ''));
      response.end();
    } catch (error) {
      if (body) body.abandon();
      else drain(request);
      throw error;
    }
  }

  @Delete(':bundle/tus/:id')
  async terminate(
    @Req() request: Request,
    @Res() response: Response,
    @Param('bundle') bundle: string,
    @Param('id') id: string,
  ): Promise<void> {
    assertTusVersion(request);
    await this.uploads.terminate(await this.owners.of(request), bundle, id);
    response.status(HttpStatus.NO_CONTENT);
    response.setHeader('Tus-Resumable', TUS_VERSION);
    response.end();
  }

  /**
   * tus's X-HTTP-Method-Override, for clients whose environment cannot send PATCH or DELETE
   * (tus-js-client's `overridePatchMethod`): the header's method is the request's.
   */
  @Post(':bundle/tus/:id')
  async overridden(
    @Req() request: Request,
    @Res() response: Response,
    @Param('bundle') bundle: string,
    @Param('id') id: string,
  ): Promise<void> {
    const method = header(request, 'x-http-method-override')?.trim().toUpperCase();
    if (method === 'PATCH') return this.append(request, response, bundle, id);
    if (method === 'DELETE') return this.terminate(request, response, bundle, id);
    drain(request);
    throw AttachmentsException.create('upload_not_found', 'a POST to an upload needs X-HTTP-Method-Override: PATCH or DELETE');
  }

  private describe(response: Response): void {
    response.status(HttpStatus.NO_CONTENT);
    response.setHeader('Tus-Resumable', TUS_VERSION);
    response.setHeader('Tus-Version', TUS_VERSION);
    response.setHeader('Tus-Extension', TUS_EXTENSIONS);
    response.setHeader('Tus-Max-Size', String(this.options.limits.fileSize));
    response.end();
  }

  /** What creation and PATCH answers share: expiry while unfinished, the attachment once done. */
  private stateHeaders(response: Response, state: UploadState, bundleUrl: string): void {
    response.setHeader('Tus-Resumable', TUS_VERSION);
    if (state.attachment) {
      const json = toAttachmentJson(state.attachment, bundleUrl, this.options.previews !== undefined);
      response.setHeader('Attachment', asciiJson(json));
    } else if (state.upload.finishedAt === null) {
      response.setHeader('Upload-Expires', this.uploads.expiresAt(state.upload).toUTCString());
    }
  }
}

/** The controller under the module's configured path, behind the host's guards. */
export function mountResumableUploadsController(
  path: string,
  guards: Array<Type<CanActivate> | CanActivate> = [],
): Type<ResumableUploadsController> {
  return mountController(ResumableUploadsController, path, guards);
}

function assertTusVersion(request: Request): void {
  if (header(request, 'tus-resumable') !== TUS_VERSION) {
    throw AttachmentsException.create('tus_version_unsupported', `got ${header(request, 'tus-resumable') ?? 'none'}`);
  }
}

function uploadLength(request: Request): number {
  const length = header(request, 'upload-length');
  if (length === undefined) throw AttachmentsException.create('upload_length_required');
  if (!WHOLE_NUMBER.test(length) || !Number.isSafeInteger(Number(length))) {
    throw AttachmentsException.create('invalid_upload_length');
  }
  return Number(length);
}

function isPatchBody(request: Request): boolean {
  return (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase() === PATCH_CONTENT_TYPE;
}

function header(request: Request, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** The request's path as the client reached it (any global prefix included), without slash. */
function pathOf(originalUrl: string): string {
  return originalUrl.split('?')[0]!.replace(/\/+$/, '');
}

/**
 * A body nobody reads (a creation without one, a refusal before reading) is drained, and the
 * connection closes after the answer instead of waiting for it.
 */
function drain(request: Request): void {
  const hasBody = request.headers['transfer-encoding'] !== undefined || Number(request.headers['content-length'] ?? 0) > 0;
  if (!hasBody || request.complete || request.readableEnded) return;
  if (!request.res?.headersSent) request.res?.setHeader('Connection', 'close');
  request.resume();
}

/** JSON that is a valid header value: everything past ASCII escaped as `\uXXXX`. */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
