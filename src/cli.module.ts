import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { RemoveOutdatedAttachmentsCommand } from './attachments/cli.js';
import { AttachmentsModule } from './attachments/index.js';
import { databaseOptionsFromEnv } from './database.js';
import { createDemoStorage, s3ConfigFromEnv, storageReadyCheck } from './demo-storage.js';

const storage = createDemoStorage(process.env.ATTACHMENTS_DIR || 'var/attachments', s3ConfigFromEnv(process.env));

/**
 * The demo's command-line root: the same database and storage as `npm start` (same
 * environment variables), no sweep schedule (the command is the sweep), and the
 * remove-outdated-attachments command from `nestjs-session-attachments/cli` as a provider.
 */
@Module({
  imports: [
    TypeOrmModule.forRoot({ ...databaseOptionsFromEnv(), migrationsRun: true }),
    AttachmentsModule.forRoot({
      storage,
      sweepEvery: false,
    }),
  ],
  providers: [RemoveOutdatedAttachmentsCommand, storageReadyCheck(storage)],
})
export class CliModule {}
