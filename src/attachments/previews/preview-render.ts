import { createHash } from 'node:crypto';
import type { ResolvedPreviews } from '../attachments.options.js';
import type { PreviewSharp } from './preview-sharp.js';

/**
 * Everything of the module's own that shapes a preview's bytes. A change here, like a new
 * sharp, changes the render version, and with it the ETag and the stored previews' identity.
 */
const RECIPE = {
  format: 'webp',
  quality: 80,
  fit: 'inside',
  withoutEnlargement: true,
  rotate: 'exif',
  failOn: 'warning',
  pages: 1,
} as const;

/**
 * Names how this process makes previews: the recipe and the versions of sharp and every library
 * it reports (libvips, libwebp…). Computed once at start-up. Processes of different versions
 * (a rolling deploy) each store and serve their own previews, side by side, and never take the
 * other's for theirs. `maxInputPixels` and `timeout` are not in it: they decide whether a preview is
 * made, not what it looks like.
 */
export function renderVersion(sharp: PreviewSharp): string {
  const libraries = Object.entries(sharp.versions)
    .filter(([, version]) => version !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : 1));
  return createHash('sha256')
    .update(JSON.stringify({ recipe: RECIPE, libraries }))
    .digest('hex')
    .slice(0, 16);
}

/**
 * The preview's WebP: sharp refuses an image declaring more than `maxInputPixels` from its
 * header, before decoding anything, and any image whose processing outlasts the time budget.
 */
export function renderPreview(previews: ResolvedPreviews, input: Buffer, size: number): Promise<Buffer> {
  return previews
    .sharp(input, { limitInputPixels: previews.maxInputPixels, failOn: RECIPE.failOn, pages: RECIPE.pages })
    .rotate()
    .resize(size, size, { fit: RECIPE.fit, withoutEnlargement: RECIPE.withoutEnlargement })
    .webp({ quality: RECIPE.quality })
    .timeout({ seconds: previews.timeoutSeconds })
    .toBuffer();
}
