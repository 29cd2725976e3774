import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AttachmentEntity } from './attachment.entity.js';
import { AttachmentOwners, CurrentOwnerPipe } from './attachment-owners.js';
import {
  type ATTACHMENTS_ASYNC_OPTIONS_TYPE,
  ATTACHMENTS_MODULE_OPTIONS,
  type ATTACHMENTS_OPTIONS_TYPE,
  ConfigurableAttachmentsModule,
} from './attachments.module-definition.js';
import {
  checkForRootAsyncOptions,
  checkForRootOptions,
  DEFAULT_ATTACHMENTS_DIRECTORY,
  resolveProvidedOptions,
  type ResolvedAttachmentsOptions,
} from './attachments.options.js';
import { AttachmentsService } from './attachments.service.js';
import { RESOLVED_ATTACHMENTS_OPTIONS } from './attachments.tokens.js';
import { AttachmentsSweeper } from './expiry/attachments-sweeper.js';
import { SweepSchedule } from './expiry/sweep-schedule.js';
import { CrossSiteRequestGuard } from './http/cross-site.guard.js';
import { AttachmentRecords } from './persistence/attachment-records.js';
import { ExpiryRecords } from './persistence/expiry-records.js';
import { SessionLock } from './persistence/session-lock.js';
import { sqlDialectProvider } from './persistence/sql-dialect.js';
import { SweepLock } from './persistence/sweep-lock.js';
import { WriteTurns } from './persistence/write-turns.js';
import { PreviewRecords } from './previews/preview-records.js';
import { PreviewsService } from './previews/previews.service.js';
import { AttachmentStorage } from './storage/attachment-storage.js';
import { DiskStorage } from './storage/disk-storage.js';
import { ResumableBytes } from './resumable/resumable-bytes.js';
import { ResumableUploads } from './resumable/resumable-uploads.service.js';
import { UploadRecords } from './resumable/upload-records.js';

const resolvedOptions: Provider = {
  provide: RESOLVED_ATTACHMENTS_OPTIONS,
  // Runs at start-up: a bad option stops the app with a message that names it.
  useFactory: (options: unknown) => resolveProvidedOptions(options),
  inject: [ATTACHMENTS_MODULE_OPTIONS],
};

const storage: Provider = {
  provide: AttachmentStorage,
  useFactory: (options: ResolvedAttachmentsOptions) =>
    options.storage ?? new DiskStorage({ directory: DEFAULT_ATTACHMENTS_DIRECTORY }),
  inject: [RESOLVED_ATTACHMENTS_OPTIONS],
};

/**
 * Temporary, session-owned file attachments: the HTTP routes (resumable tus uploads among
 * them), the service for host code, and the expiry sweep (the command is in `nestjs-session-attachments/cli`). Needs express-session and a TypeORM connection that knows
 * `AttachmentEntity` (and runs `attachmentsMigrations`).
 *
 * @example AttachmentsModule.forRoot({ path: 'attachments', limits: { fileSize: '20MB' } })
 */
@Module({
  // ScheduleModule.forRoot() is idempotent: a host that also imports it shares one registry.
  imports: [TypeOrmModule.forFeature([AttachmentEntity]), ScheduleModule.forRoot()],
  providers: [
    resolvedOptions,
    storage,
    sqlDialectProvider,
    WriteTurns,
    SessionLock,
    SweepLock,
    AttachmentRecords,
    ExpiryRecords,
    AttachmentsService,
    AttachmentOwners,
    CurrentOwnerPipe,
    PreviewRecords,
    PreviewsService,
    AttachmentsSweeper,
    SweepSchedule,
    CrossSiteRequestGuard,
    UploadRecords,
    ResumableBytes,
    ResumableUploads,
  ],
  // The guard and the options it reads go out too, so a host's own routes can use
  // @UseGuards(CrossSiteRequestGuard), and the owners, which @CurrentOwner()'s pipe resolves in
  // the host's module. The command (`nestjs-session-attachments/cli`) needs only the sweeper.
  exports: [
    AttachmentsService,
    AttachmentOwners,
    CurrentOwnerPipe,
    AttachmentsSweeper,
    AttachmentStorage,
    CrossSiteRequestGuard,
    RESOLVED_ATTACHMENTS_OPTIONS,
  ],
})
export class AttachmentsModule extends ConfigurableAttachmentsModule {
  /** Every option has a default, so `forRoot()` with nothing is the module with its defaults. */
  static override forRoot(options: typeof ATTACHMENTS_OPTIONS_TYPE = {}): DynamicModule {
    checkForRootOptions(options);
    return super.forRoot(options);
  }

  static override forRootAsync(options: typeof ATTACHMENTS_ASYNC_OPTIONS_TYPE): DynamicModule {
    checkForRootAsyncOptions(options);
    return super.forRootAsync(options);
  }
}
