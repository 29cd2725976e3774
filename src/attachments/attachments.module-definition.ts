import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { AttachmentsModuleExtras, AttachmentsModuleOptions } from './attachments.options.js';
import { DEFAULT_EXTRAS, resolveGuards, resolveIsGlobal, resolvePath, resolveResumable } from './attachments.options.js';
import { mountAttachmentsController } from './attachments.controller.js';
import { mountPreviewsController } from './previews/previews.controller.js';
import { mountResumableUploadsController } from './resumable/resumable-uploads.controller.js';

/**
 * forRoot / forRootAsync come from Nest's builder. `path`, `guards`, `resumable` and `isGlobal`
 * are extras rather than options because routes (and their guards) and the module's scope are
 * fixed when the module is defined, before an async factory could run. The `owner` resolver runs
 * per request, so it is an option. A `useClass` options factory's method is Nest's default name,
 * `create`.
 */
export const {
  ConfigurableModuleClass: ConfigurableAttachmentsModule,
  MODULE_OPTIONS_TOKEN: ATTACHMENTS_MODULE_OPTIONS,
  OPTIONS_TYPE: ATTACHMENTS_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: ATTACHMENTS_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<AttachmentsModuleOptions>({ moduleName: 'Attachments' })
  .setClassMethodName('forRoot')
  .setExtras<AttachmentsModuleExtras>(DEFAULT_EXTRAS, (definition, extras) => {
    const path = resolvePath(extras.path);
    const guards = resolveGuards(extras.guards);
    return {
      ...definition,
      global: resolveIsGlobal(extras.isGlobal),
      controllers: [
        ...(definition.controllers ?? []),
        mountAttachmentsController(path, guards),
        mountPreviewsController(path, guards),
        // After the others, so that every route of a file named `tus` matches as it did.
        ...(resolveResumable(extras.resumable) ? [mountResumableUploadsController(path, guards)] : []),
      ],
    };
  })
  .build();
