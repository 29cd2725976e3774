import { HttpException, HttpStatus } from '@nestjs/common';

/**
 * Every error the module answers with, by stable machine code. Clients switch on `code`;
 * `message` is for people and may be reworded. One table so status, code and wording stay
 * together (multer's LIMIT_* table is the model).
 */
export const ATTACHMENT_ERRORS = {
  invalid_name: { status: HttpStatus.BAD_REQUEST, message: 'The file name is not allowed' },
  invalid_bundle: { status: HttpStatus.BAD_REQUEST, message: 'The bundle id is not allowed' },
  invalid_multipart: { status: HttpStatus.BAD_REQUEST, message: 'The request body is not valid multipart/form-data' },
  no_files: {
    status: HttpStatus.BAD_REQUEST,
    message: 'The request carries no file: send one or more file parts in multipart/form-data',
  },
  too_many_files: { status: HttpStatus.BAD_REQUEST, message: 'Too many files in one request' },
  too_many_parts: { status: HttpStatus.BAD_REQUEST, message: 'Too many parts or fields in one request' },
  field_too_large: { status: HttpStatus.BAD_REQUEST, message: 'A form field is larger than allowed' },
  bundle_full: { status: HttpStatus.BAD_REQUEST, message: 'The bundle holds as many files as it may' },
  too_many_bundles: { status: HttpStatus.BAD_REQUEST, message: 'The session holds as many bundles as it may' },
  file_too_large: { status: HttpStatus.PAYLOAD_TOO_LARGE, message: 'The file is larger than allowed' },
  session_quota_exceeded: { status: HttpStatus.PAYLOAD_TOO_LARGE, message: 'The session holds as many bytes as it may' },
  type_not_allowed: { status: HttpStatus.UNSUPPORTED_MEDIA_TYPE, message: 'This type of file is not allowed' },
  file_rejected: { status: HttpStatus.UNPROCESSABLE_ENTITY, message: 'The file was refused' },
  inspection_unavailable: {
    status: HttpStatus.SERVICE_UNAVAILABLE,
    message: 'The file could not be inspected; try again shortly',
  },
  invalid_preview_size: { status: HttpStatus.BAD_REQUEST, message: 'The preview size is not offered' },
  no_preview: { status: HttpStatus.NOT_FOUND, message: 'This attachment has no preview' },
  preview_unavailable: { status: HttpStatus.UNPROCESSABLE_ENTITY, message: 'No preview can be made of this image' },
  preview_busy: {
    status: HttpStatus.SERVICE_UNAVAILABLE,
    message: 'Previews are being made for other requests; try again shortly',
  },
  not_found: { status: HttpStatus.NOT_FOUND, message: 'No such attachment' },
  range_not_satisfiable: {
    status: HttpStatus.REQUESTED_RANGE_NOT_SATISFIABLE,
    message: 'The requested range is not satisfiable',
  },
  owner_required: {
    status: HttpStatus.UNAUTHORIZED,
    message: 'These attachments belong to a signed-in owner: sign in (send your credentials) and try again',
  },
  cross_site_request: { status: HttpStatus.FORBIDDEN, message: 'Cross-site requests may not change attachments' },
  upload_timeout: { status: HttpStatus.REQUEST_TIMEOUT, message: 'The upload was too slow and timed out' },
  client_aborted: { status: HttpStatus.BAD_REQUEST, message: 'The client closed the request before the upload finished' },
  storage_full: { status: HttpStatus.INSUFFICIENT_STORAGE, message: 'The server has no room to store the file' },
  storage_unavailable: {
    status: HttpStatus.SERVICE_UNAVAILABLE,
    message: 'The attachment storage is unavailable; try again shortly',
  },
  database_unavailable: {
    status: HttpStatus.SERVICE_UNAVAILABLE,
    message: 'The attachment database is unavailable; try again shortly',
  },
  tus_version_unsupported: {
    status: HttpStatus.PRECONDITION_FAILED,
    message: 'Resumable uploads speak tus 1.0.0: send the header Tus-Resumable: 1.0.0',
  },
  upload_length_required: {
    status: HttpStatus.BAD_REQUEST,
    message: 'A resumable upload needs its size up front: send Upload-Length (Upload-Defer-Length is not supported)',
  },
  invalid_upload_length: { status: HttpStatus.BAD_REQUEST, message: 'Upload-Length must be a whole number of bytes' },
  invalid_upload_metadata: {
    status: HttpStatus.BAD_REQUEST,
    message: 'Upload-Metadata must be comma-separated pairs of a key and a base64 value',
  },
  invalid_upload_offset: { status: HttpStatus.BAD_REQUEST, message: 'Upload-Offset must be a whole number of bytes' },
  invalid_patch_content_type: {
    status: HttpStatus.UNSUPPORTED_MEDIA_TYPE,
    message: 'A PATCH of a resumable upload must have Content-Type: application/offset+octet-stream',
  },
  offset_mismatch: {
    status: HttpStatus.CONFLICT,
    message: "Upload-Offset is not the upload's offset: ask with HEAD where to resume",
  },
  upload_length_exceeded: {
    status: HttpStatus.PAYLOAD_TOO_LARGE,
    message: 'The PATCH carries bytes past the Upload-Length declared; nothing of it was stored',
  },
  upload_not_found: { status: HttpStatus.NOT_FOUND, message: 'No such resumable upload' },
  session_middleware_missing: {
    status: HttpStatus.INTERNAL_SERVER_ERROR,
    message:
      'AttachmentsModule found no session on this request: add express-session before the routes, ' +
      'e.g. app.use(session({ secret: process.env.SESSION_SECRET, resave: false, saveUninitialized: false })) in main.ts; ' +
      'where it is in place, its store is disconnected (express-session then passes requests on without a session) ' +
      "or the session cookie's path does not cover this route",
  },
} as const satisfies Record<string, { status: HttpStatus; message: string }>;

export type AttachmentErrorCode = keyof typeof ATTACHMENT_ERRORS;

/** The JSON body of every error: Nest's usual shape plus the stable `code`. */
export interface AttachmentErrorBody {
  statusCode: number;
  error: string;
  code: AttachmentErrorCode;
  message: string;
}

/**
 * An HttpException so that Nest's default filter renders it as JSON in host apps too, with no
 * filter to register. Thrown by the service as well: its codes are part of the public API.
 */
export class AttachmentsException extends HttpException {
  readonly code: AttachmentErrorCode;

  private constructor(code: AttachmentErrorCode, message: string, options?: { cause?: unknown }) {
    const { status } = ATTACHMENT_ERRORS[code];
    const body: AttachmentErrorBody = { statusCode: status, error: reasonPhrase(status), code, message };
    super(body, status, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }

  /** `detail` is appended to the table's message; keep it free of other visitors' data. */
  static create(code: AttachmentErrorCode, detail?: string, options?: { cause?: unknown }): AttachmentsException {
    const base = ATTACHMENT_ERRORS[code].message;
    return new AttachmentsException(code, detail ? `${base}: ${detail}` : base, options);
  }
}

export function isAttachmentsException(error: unknown, code?: AttachmentErrorCode): error is AttachmentsException {
  return error instanceof AttachmentsException && (code === undefined || error.code === code);
}

const REASONS: Partial<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  408: 'Request Timeout',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable',
  422: 'Unprocessable Entity',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
  507: 'Insufficient Storage',
};

function reasonPhrase(status: number): string {
  return REASONS[status] ?? 'Error';
}
