import { applyDecorators } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiConsumes,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiPayloadTooLargeResponse,
  ApiResponse,
  ApiTags,
  ApiUnsupportedMediaTypeResponse,
} from '@nestjs/swagger';
import { AttachmentErrorJson, AttachmentJson } from './attachment-json.js';

// The OpenAPI description of each route, kept beside the controller rather than on it, so the
// controller reads as what it does.

const bundle = ApiParam({ name: 'bundle', description: 'the draft: 1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit' });
const name = ApiParam({ name: 'name', description: 'the file name, URL-encoded' });
const badRequest = ApiBadRequestResponse({ type: AttachmentErrorJson, description: 'invalid_bundle, invalid_name, …' });
const crossSite = ApiForbiddenResponse({ type: AttachmentErrorJson, description: 'cross_site_request' });

export const AttachmentsApi = () => ApiTags('attachments');

export const ApiUpload = () =>
  applyDecorators(
    ApiOperation({ summary: 'Upload files into a bundle (same name replaces)' }),
    bundle,
    ApiConsumes('multipart/form-data'),
    ApiBody({
      description: 'one or more file parts under any field names; other fields are ignored',
      schema: { type: 'object', additionalProperties: { type: 'string', format: 'binary' } },
    }),
    ApiCreatedResponse({ type: [AttachmentJson], description: 'the stored attachments, sorted by name' }),
    badRequest,
    crossSite,
    ApiPayloadTooLargeResponse({ type: AttachmentErrorJson, description: 'file_too_large, session_quota_exceeded' }),
    ApiUnsupportedMediaTypeResponse({ type: AttachmentErrorJson, description: 'type_not_allowed' }),
  );

export const ApiList = () =>
  applyDecorators(
    ApiOperation({ summary: "List a bundle of the visitor's session" }),
    bundle,
    ApiOkResponse({ type: [AttachmentJson], description: 'sorted by name; empty for an unknown bundle' }),
    badRequest,
  );

export const ApiDownload = () =>
  applyDecorators(
    ApiOperation({ summary: 'Download an attachment (Range, If-None-Match and HEAD supported)' }),
    bundle,
    name,
    ApiOkResponse({
      description: 'the bytes, as an attachment',
      content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
    }),
    ApiResponse({ status: 206, description: 'the requested range' }),
    ApiResponse({ status: 304, description: 'not modified (If-None-Match)' }),
    ApiNotFoundResponse({ type: AttachmentErrorJson, description: "not_found (missing, or another visitor's)" }),
  );

export const ApiRemove = () =>
  applyDecorators(
    ApiOperation({ summary: 'Delete one attachment' }),
    bundle,
    name,
    ApiNoContentResponse({ description: 'deleted' }),
    ApiNotFoundResponse({ type: AttachmentErrorJson, description: 'not_found' }),
    crossSite,
  );

export const ApiClear = () =>
  applyDecorators(
    ApiOperation({ summary: 'Delete every attachment of a bundle' }),
    bundle,
    ApiNoContentResponse({ description: 'cleared' }),
    crossSite,
  );
