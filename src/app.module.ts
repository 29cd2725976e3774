import { Module, type DynamicModule, type Type } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import sharp from 'sharp';
import { AttachmentsModule, DiskStorage, type AttachmentsModuleOptions } from './attachments/index.js';
import type { DemoConfig } from './demo-config.js';
import { DraftsController } from './drafts.controller.js';

export interface DemoOverrides {
  attachments?: Partial<AttachmentsModuleOptions>;
  controllers?: Type[];
}

/** The demo host app: the module at /attachments, plus a "send draft" route that uses it. */
@Module({})
export class AppModule {
  /** `overrides` let tests tune the module (small limits) and mount extra host controllers. */
  static register(config: DemoConfig, overrides: DemoOverrides = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        // The demo applies the shipped migrations itself on start.
        TypeOrmModule.forRoot({ ...config.database, migrationsRun: true }),
        AttachmentsModule.forRoot({
          path: 'attachments',
          storage: new DiskStorage({ directory: config.attachmentsDirectory }),
          // An unset variable is undefined here, and an option given as undefined takes its default.
          expireAfter: config.expireAfter,
          sweepEvery: config.sweepEvery,
          // Thumbnails for the demo page; the host passes its sharp in, the module never imports it.
          previews: { sharp },
          ...overrides.attachments,
        }),
      ],
      controllers: [DraftsController, ...(overrides.controllers ?? [])],
    };
  }
}
