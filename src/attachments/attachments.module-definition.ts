import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { AttachmentsModuleExtras, AttachmentsModuleOptions } from './attachments.options.js';
import { resolveGuards, resolvePath, resolveResumable } from './attachments.options.js';
import { mountAttachmentsController } from './attachments.controller.js';
import { mountPreviewsController } from './previews/previews.controller.js';
import { mountResumableUploadsController } from './resumable/resumable-uploads.controller.js';

/**
 * forRoot / forRootAsync come from Nest's builder. `path`, `guards` and `resumable` are extras rather than
 * options because routes (and their guards) are fixed when the module is defined, before an
 * async factory could run. The `owner` resolver runs per request, so it is an option.
 */
export const {
  ConfigurableModuleClass: ConfigurableAttachmentsModule,
  MODULE_OPTIONS_TOKEN: ATTACHMENTS_MODULE_OPTIONS,
  OPTIONS_TYPE: ATTACHMENTS_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: ATTACHMENTS_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<AttachmentsModuleOptions>({ moduleName: 'Attachments' })
  .setClassMethodName('forRoot')
  .setExtras<AttachmentsModuleExtras>({ path: 'attachments', guards: [], resumable: true }, (definition, extras) => ({
    ...definition,
    controllers: [
      ...(definition.controllers ?? []),
      mountAttachmentsController(resolvePath(extras.path), resolveGuards(extras.guards)),
      mountPreviewsController(resolvePath(extras.path), resolveGuards(extras.guards)),
      // After the others, so that every route of a file named `tus` matches as it did.
      ...(resolveResumable(extras.resumable)
        ? [mountResumableUploadsController(resolvePath(extras.path), resolveGuards(extras.guards))]
        : []),
    ],
  }))
  .build();
