// The public API of nestjs-session-attachments: everything a host app may use, nothing else.
// The command is in `./cli.ts` and the OpenAPI description in `./openapi.ts` (subpath entries),
// so that this entry never loads nest-commander, cli-progress or @nestjs/swagger.
export { AttachmentsModule } from './attachments.module.js';
export { ATTACHMENTS_ASYNC_OPTIONS_TYPE, ATTACHMENTS_OPTIONS_TYPE } from './attachments.module-definition.js';
export {
  DEFAULT_OPTIONS,
  InvalidAttachmentsOptionError,
  type AttachmentsLimits,
  type AttachmentsModuleExtras,
  type AttachmentsModuleOptions,
  type ByteSize,
  type Duration,
  type PreviewsOptions,
} from './attachments.options.js';
export { AttachmentRejected } from './inspection/attachment-rejected.js';
export type { InspectedFile, InspectHook } from './inspection/inspect-hook.js';
export type { PreviewInputOptions, PreviewPipeline, PreviewSharp, PreviewSharpVersions } from './previews/preview-sharp.js';

export { AttachmentsService, type StoredAttachment, type TakeHandler } from './attachments.service.js';
export type { Attachment, IncomingFile, OpenedAttachment, ReadRange } from './attachment.js';
export { AttachmentEntity } from './attachment.entity.js';
export { attachmentsMigrations } from './migrations/index.js';
export { CreateSessionAttachments1764057600000 } from './migrations/1764057600000-create-session-attachments.js';
export {
  ATTACHMENT_ERRORS,
  AttachmentsException,
  type AttachmentErrorBody,
  type AttachmentErrorCode,
} from './attachments.errors.js';
export { regenerateSessionKeepingAttachments, sessionKeyOf, type SessionKey } from './session-key.js';
export { AttachmentOwners, CurrentOwner, CurrentOwnerPipe, CurrentSessionKey } from './attachment-owners.js';
export { MAX_OWNER_KEY_LENGTH, ownerKey, type OwnerKey, type OwnerResolver } from './owner.js';
export {
  AttachmentStorage,
  InjectAttachmentStorage,
  type ByteRange,
  supportsBulkDeletes,
  supportsResumableWrites,
  type ByteSource,
  type BulkDeletes,
  type ResumableWrites,
  type StoredObject,
} from './storage/attachment-storage.js';
export { DiskStorage, type DiskStorageOptions } from './storage/disk-storage.js';
export { StorageUnavailableError } from './storage/storage-unavailable.js';
export type { AttachmentJson } from './http/attachment-json.js';
export { CrossSiteRequestGuard } from './http/cross-site.guard.js';
export { TUS_EXPOSED_HEADERS } from './resumable/resumable-uploads.controller.js';
export { AttachmentsFailureFilter } from './http/failure.filter.js';
export { BUNDLE_PATTERN, MAX_NAME_BYTES } from './names.js';
export {
  AttachmentsSweeper,
  type RemovalReport,
  type RemoveOutdatedOptions,
  type SweepReport,
} from './expiry/attachments-sweeper.js';
export type { OutdatedRow } from './persistence/expiry-records.js';
