/**
 * The image types a preview is made of, as content detection names them (content-type.ts).
 * HEIC/HEIF is listed: a sharp built with an HEVC decoder previews it, the prebuilt one
 * (AV1 only) answers `preview_unavailable`. SVG is not: it is markup and can carry script.
 */
const PREVIEWABLE_TYPES: ReadonlySet<string> = new Set([
  'image/jpeg',
  'image/png',
  'image/webp',
  'image/gif',
  'image/avif',
  'image/heic',
  'image/heif',
  'image/tiff',
]);

export function isPreviewable(mimetype: string): boolean {
  return PREVIEWABLE_TYPES.has(mimetype);
}

/** The preview sizes offered (the box a preview fits inside, in pixels), and the default. */
export const PREVIEW_SIZES: readonly number[] = [64, 128, 256, 512, 1024];
export const DEFAULT_PREVIEW_SIZE = 256;
