import { Module, type DynamicModule, type ForwardReference, type Type } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import sharp from 'sharp';
import { AttachmentsModule, type AttachmentsModuleExtras, type AttachmentsModuleOptions } from './attachments/index.js';
import type { DemoConfig } from './demo-config.js';
import { demoOwner, DemoLoginController } from './demo-login.controller.js';
import { createDemoStorage, storageReadyCheck } from './demo-storage.js';
import { DraftsController } from './drafts.controller.js';

export interface DemoOverrides {
  attachments?: Partial<AttachmentsModuleOptions & AttachmentsModuleExtras>;
  controllers?: Type[];
  /** Extra modules for host-app tests (a JwtModule for the guarded-owner tests). */
  imports?: Array<Type | DynamicModule | ForwardReference>;
}

/**
 * The demo host app: the module at /attachments, a "send draft" route that uses it, and a
 * fixed-user login whose user adopts the anonymous draft.
 */
@Module({})
export class AppModule {
  /** `overrides` let tests tune the module (small limits) and mount extra host controllers. */
  static register(config: DemoConfig, overrides: DemoOverrides = {}): DynamicModule {
    const storage = overrides.attachments?.storage ?? createDemoStorage(config.attachmentsDirectory, config.s3);
    return {
      module: AppModule,
      imports: [
        ...(overrides.imports ?? []),
        // The demo applies the shipped migrations itself on start.
        TypeOrmModule.forRoot({ ...config.database, migrationsRun: true }),
        AttachmentsModule.forRoot({
          path: 'attachments',
          storage,
          // An unset variable is undefined here, and an option given as undefined takes its default.
          expireAfter: config.expireAfter,
          sweepEvery: config.sweepEvery,
          inlineMaxSize: config.inlineMaxSize,
          owner: demoOwner,
          // Thumbnails for the demo page; the host passes its sharp in, the module never imports it.
          previews: { sharp },
          ...overrides.attachments,
        }),
      ],
      controllers: [DraftsController, DemoLoginController, ...(overrides.controllers ?? [])],
      providers: [storageReadyCheck(storage)],
    };
  }
}
