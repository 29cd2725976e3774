import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { AttachmentsModuleExtras, AttachmentsModuleOptions } from './attachments.options.js';
import { resolvePath } from './attachments.options.js';
import { mountAttachmentsController } from './attachments.controller.js';
import { mountPreviewsController } from './previews/previews.controller.js';

/**
 * forRoot / forRootAsync come from Nest's builder. `path` is an extra rather than an option
 * because routes are fixed when the module is defined, before an async factory could run.
 */
export const {
  ConfigurableModuleClass: ConfigurableAttachmentsModule,
  MODULE_OPTIONS_TOKEN: ATTACHMENTS_MODULE_OPTIONS,
  OPTIONS_TYPE: ATTACHMENTS_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: ATTACHMENTS_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<AttachmentsModuleOptions>({ moduleName: 'Attachments' })
  .setClassMethodName('forRoot')
  .setExtras<AttachmentsModuleExtras>({ path: 'attachments' }, (definition, extras) => ({
    ...definition,
    controllers: [
      ...(definition.controllers ?? []),
      mountAttachmentsController(resolvePath(extras.path)),
      mountPreviewsController(resolvePath(extras.path)),
    ],
  }))
  .build();
