import type { DynamicModule, INestApplicationContext, Type } from '@nestjs/common';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AttachmentEntity, attachmentsMigrations } from '../../src/attachments/index.js';

/**
 * `imports` in a Nest application context (no HTTP server) beside an in-memory SQLite
 * database: every provider and pipe is resolved as in an app, so a bad option or a missing
 * dependency rejects here with the error an app would stop with.
 */
export async function startContext(imports: Array<Type | DynamicModule>): Promise<INestApplicationContext> {
  @Module({
    imports: [
      TypeOrmModule.forRoot({
        type: 'better-sqlite3',
        database: ':memory:',
        entities: [AttachmentEntity],
        migrations: attachmentsMigrations,
        migrationsRun: true,
      }),
      ...imports,
    ],
  })
  class HostModule {}
  // abortOnError: false, so that a failed start rejects instead of ending the process.
  return NestFactory.createApplicationContext(HostModule, { logger: false, abortOnError: false });
}
