import { applyDecorators } from '@nestjs/common';
import {
  ApiBody,
  ApiConsumes,
  ApiCreatedResponse,
  ApiHeader,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiQuery,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import { ATTACHMENT_ERRORS, type AttachmentErrorCode } from '../attachments.errors.js';
import { AttachmentsController } from '../attachments.controller.js';
import { PREVIEW_SIZES, DEFAULT_PREVIEW_SIZE } from '../previews/previewable-types.js';
import { PreviewsController } from '../previews/previews.controller.js';
import { ResumableUploadsController } from '../resumable/resumable-uploads.controller.js';
import { AttachmentErrorJsonDto, AttachmentJsonDto } from './openapi-schemas.js';

// The OpenAPI description of each route, applied to the controller only when a host asks for
// it (documentAttachmentsRoutes), so the controller and the main entry never load Swagger.

// What every route can answer: a request with no owner (the `owner` option found none), a host
// without express-session, and a database out of reach.
const ANY_ROUTE: AttachmentErrorCode[] = ['owner_required', 'session_middleware_missing', 'database_unavailable'];
const CHANGES: AttachmentErrorCode[] = [...ANY_ROUTE, 'cross_site_request'];
const NAMED: AttachmentErrorCode[] = ['invalid_bundle', 'invalid_name', 'not_found'];

/** Every error code each route can raise; the responses are grouped by status from this table. */
const ROUTE_ERRORS = {
  upload: [
    ...CHANGES,
    'invalid_bundle',
    'invalid_name',
    'invalid_multipart',
    'no_files',
    'too_many_files',
    'too_many_parts',
    'field_too_large',
    'bundle_full',
    'too_many_bundles',
    'client_aborted',
    'upload_timeout',
    'file_too_large',
    'session_quota_exceeded',
    'type_not_allowed',
    'storage_full',
    'storage_unavailable',
    'file_rejected',
    'inspection_unavailable',
  ],
  list: [...ANY_ROUTE, 'invalid_bundle'],
  download: [...ANY_ROUTE, ...NAMED, 'range_not_satisfiable', 'storage_unavailable'],
  clearByPost: [...CHANGES, 'invalid_bundle'],
  clear: [...CHANGES, 'invalid_bundle'],
  removeByPost: [...CHANGES, ...NAMED],
  remove: [...CHANGES, ...NAMED],
} as const satisfies Record<keyof AttachmentsController, readonly AttachmentErrorCode[]>;

// Every tus request but OPTIONS must say `Tus-Resumable: 1.0.0`; an upload is found by owner.
const TUS: AttachmentErrorCode[] = ['tus_version_unsupported', 'invalid_bundle'];
const TUS_UPLOAD: AttachmentErrorCode[] = [...TUS, 'upload_not_found'];
// What storing bytes and finishing can answer: the rules of a plain upload, as bytes arrive.
const TUS_BYTES: AttachmentErrorCode[] = [
  'upload_length_exceeded',
  'session_quota_exceeded',
  'type_not_allowed',
  'bundle_full',
  'too_many_bundles',
  'upload_timeout',
  'storage_full',
  'storage_unavailable',
  'file_rejected',
  'inspection_unavailable',
];

/** The tus routes' errors, by the controller's method. */
const TUS_ROUTE_ERRORS = {
  describeCreation: [...ANY_ROUTE],
  describeUpload: [...ANY_ROUTE],
  create: [
    ...CHANGES,
    ...TUS,
    'invalid_name',
    'upload_length_required',
    'invalid_upload_length',
    'invalid_upload_metadata',
    'file_too_large',
    ...TUS_BYTES,
  ],
  status: [...ANY_ROUTE, ...TUS_UPLOAD],
  append: [
    ...CHANGES,
    ...TUS_UPLOAD,
    'invalid_patch_content_type',
    'invalid_upload_offset',
    'offset_mismatch',
    'too_many_parts',
    ...TUS_BYTES,
  ],
  terminate: [...CHANGES, ...TUS_UPLOAD],
  overridden: [
    ...CHANGES,
    ...TUS_UPLOAD,
    'invalid_patch_content_type',
    'invalid_upload_offset',
    'offset_mismatch',
    'too_many_parts',
    ...TUS_BYTES,
  ],
} as const satisfies Record<keyof ResumableUploadsController, readonly AttachmentErrorCode[]>;

const PREVIEW_ERRORS = [
  ...ANY_ROUTE,
  ...NAMED,
  'invalid_preview_size',
  'no_preview',
  'preview_unavailable',
  'preview_busy',
  'storage_unavailable',
] as const satisfies readonly AttachmentErrorCode[];

const bundle = ApiParam({ name: 'bundle', description: 'the draft: 1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit' });
const name = ApiParam({ name: 'name', description: 'the file name, URL-encoded' });

/** One response per status, its description the codes a client can switch on. */
function errorResponses(codes: readonly AttachmentErrorCode[]): MethodDecorator {
  const byStatus = new Map<number, AttachmentErrorCode[]>();
  for (const code of codes) {
    const { status } = ATTACHMENT_ERRORS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return applyDecorators(
    ...[...byStatus].map(([status, group]) =>
      ApiResponse({ status, type: AttachmentErrorJsonDto, description: group.join(', ') }),
    ),
  );
}

const upload = applyDecorators(
  ApiOperation({ summary: 'Upload files into a bundle (same name replaces)' }),
  bundle,
  ApiConsumes('multipart/form-data'),
  ApiBody({
    description: 'one or more file parts under any field names; other fields are ignored',
    schema: { type: 'object', additionalProperties: { type: 'string', format: 'binary' } },
  }),
  ApiCreatedResponse({ type: [AttachmentJsonDto], description: 'the stored attachments, sorted by name' }),
  errorResponses(ROUTE_ERRORS.upload),
);

const list = applyDecorators(
  ApiOperation({ summary: "List a bundle of the visitor's session" }),
  bundle,
  ApiOkResponse({ type: [AttachmentJsonDto], description: 'sorted by name; empty for an unknown bundle' }),
  errorResponses(ROUTE_ERRORS.list),
);

const download = applyDecorators(
  ApiOperation({ summary: 'Download an attachment (Range, If-None-Match and HEAD supported)' }),
  bundle,
  name,
  ApiOkResponse({
    description: 'the bytes, as an attachment',
    content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
  }),
  ApiResponse({ status: 206, description: 'the requested range' }),
  ApiResponse({ status: 304, description: 'not modified (If-None-Match)' }),
  errorResponses(ROUTE_ERRORS.download),
);

const preview = applyDecorators(
  ApiOperation({ summary: 'A WebP thumbnail of an image attachment, made on first request (If-None-Match supported)' }),
  bundle,
  name,
  ApiQuery({
    name: 'size',
    required: false,
    enum: [...PREVIEW_SIZES],
    description: `the box the thumbnail fits inside, in pixels; default ${DEFAULT_PREVIEW_SIZE}`,
  }),
  ApiOkResponse({ description: 'the thumbnail', content: { 'image/webp': { schema: { type: 'string', format: 'binary' } } } }),
  ApiResponse({ status: 304, description: 'not modified (If-None-Match)' }),
  errorResponses(PREVIEW_ERRORS),
);

const clear = (codes: readonly AttachmentErrorCode[]) =>
  applyDecorators(
    ApiOperation({ summary: 'Delete every attachment of a bundle' }),
    bundle,
    ApiNoContentResponse({ description: 'cleared (also when there was nothing to clear)' }),
    errorResponses(codes),
  );

const remove = (codes: readonly AttachmentErrorCode[]) =>
  applyDecorators(
    ApiOperation({ summary: 'Delete one attachment' }),
    bundle,
    name,
    ApiNoContentResponse({ description: 'deleted' }),
    errorResponses(codes),
  );

const ROUTE_DOCS: Record<keyof AttachmentsController, MethodDecorator> = {
  upload,
  list,
  download,
  clearByPost: clear(ROUTE_ERRORS.clearByPost),
  clear: clear(ROUTE_ERRORS.clear),
  removeByPost: remove(ROUTE_ERRORS.removeByPost),
  remove: remove(ROUTE_ERRORS.remove),
};

const uploadId = ApiParam({ name: 'id', description: 'the upload, from the Location of its creation' });
const tusResumable = ApiHeader({ name: 'Tus-Resumable', required: true, description: '1.0.0' });
const tusDescription = (summary: string) =>
  applyDecorators(
    ApiOperation({ summary }),
    ApiNoContentResponse({ description: 'Tus-Version, Tus-Extension, Tus-Max-Size (limits.fileSize)' }),
  );

const TUS_ROUTE_DOCS: Record<keyof ResumableUploadsController, MethodDecorator> = {
  describeCreation: applyDecorators(
    tusDescription('tus: what the server offers'),
    bundle,
    errorResponses(TUS_ROUTE_ERRORS.describeCreation),
  ),
  describeUpload: applyDecorators(
    tusDescription('tus: what the server offers'),
    bundle,
    uploadId,
    errorResponses(TUS_ROUTE_ERRORS.describeUpload),
  ),
  create: applyDecorators(
    ApiOperation({ summary: 'tus creation (and creation-with-upload): start a resumable upload into a bundle' }),
    bundle,
    tusResumable,
    ApiHeader({ name: 'Upload-Length', required: true, description: 'the file size in bytes' }),
    ApiHeader({ name: 'Upload-Metadata', required: true, description: 'tus metadata; the name from `filename`, else `name`' }),
    ApiCreatedResponse({
      description:
        'Location of the upload, Upload-Offset, Upload-Expires; with a body (application/offset+octet-stream) ' +
        'that completes the file, the header Attachment carries its JSON',
    }),
    errorResponses(TUS_ROUTE_ERRORS.create),
  ),
  status: applyDecorators(
    ApiOperation({ summary: 'tus: where an upload stands' }),
    bundle,
    uploadId,
    tusResumable,
    ApiOkResponse({ description: 'Upload-Offset, Upload-Length, Upload-Metadata (as sent), Upload-Expires while unfinished' }),
    errorResponses(TUS_ROUTE_ERRORS.status),
  ),
  append: applyDecorators(
    ApiOperation({ summary: 'tus: append bytes at Upload-Offset; the last ones make the attachment' }),
    bundle,
    uploadId,
    tusResumable,
    ApiHeader({ name: 'Upload-Offset', required: true, description: "the upload's offset, from HEAD" }),
    ApiConsumes('application/offset+octet-stream'),
    ApiNoContentResponse({
      description:
        'Upload-Offset, Upload-Expires; once complete, the header Attachment: the attachment JSON (non-ASCII as \\uXXXX)',
    }),
    errorResponses(TUS_ROUTE_ERRORS.append),
  ),
  terminate: applyDecorators(
    ApiOperation({ summary: 'tus termination: drop an upload and its bytes' }),
    bundle,
    uploadId,
    tusResumable,
    ApiNoContentResponse({ description: 'removed' }),
    errorResponses(TUS_ROUTE_ERRORS.terminate),
  ),
  overridden: applyDecorators(
    ApiOperation({ summary: 'tus: PATCH or DELETE for clients that cannot send them (X-HTTP-Method-Override)' }),
    bundle,
    uploadId,
    tusResumable,
    ApiHeader({ name: 'X-HTTP-Method-Override', required: true, description: 'PATCH or DELETE' }),
    ApiNoContentResponse({ description: 'as the PATCH or DELETE it stands for' }),
    errorResponses(TUS_ROUTE_ERRORS.overridden),
  ),
};

let documented = false;

/**
 * Describes the module's routes for @nestjs/swagger: call it before
 * `SwaggerModule.createDocument`. The description is metadata on the shared controller class,
 * so it covers every `forRoot` mount, and a second call changes nothing.
 */
export function documentAttachmentsRoutes(): void {
  if (documented) return;
  documented = true;
  ApiTags('attachments')(AttachmentsController);
  const prototype = AttachmentsController.prototype;
  for (const [method, describe] of Object.entries(ROUTE_DOCS)) {
    describe(prototype, method, Object.getOwnPropertyDescriptor(prototype, method)!);
  }
  ApiTags('attachments')(PreviewsController);
  const previews = PreviewsController.prototype;
  preview(previews, 'preview', Object.getOwnPropertyDescriptor(previews, 'preview'));
  ApiTags('attachments')(ResumableUploadsController);
  const tus = ResumableUploadsController.prototype;
  for (const [method, describe] of Object.entries(TUS_ROUTE_DOCS)) {
    describe(tus, method, Object.getOwnPropertyDescriptor(tus, method)!);
  }
}
