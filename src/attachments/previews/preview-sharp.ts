/**
 * The part of sharp that previews use, typed by shape: the host passes its own `sharp` in
 * (`previews: { sharp }`), so the module never imports it, an app without previews never
 * loads its native library, and nothing probes for it at run time. Any sharp whose API has
 * these calls fits (checked against sharp 0.35 by the tests, which pass the real one).
 */
export interface PreviewSharp {
  (input: Buffer, options: PreviewInputOptions): PreviewPipeline;
  /**
   * sharp's `versions` (its own, libvips's and the bundled libraries'): part of what names a
   * preview's bytes, so that upgrading sharp makes new previews instead of serving old ones.
   */
  readonly versions: PreviewSharpVersions;
}

/** The versions sharp reports; only `sharp` and `vips` are always there. */
export interface PreviewSharpVersions {
  readonly sharp: string;
  readonly vips: string;
  readonly [library: string]: string | undefined;
}

/** How sharp opens an attachment for a preview. */
export interface PreviewInputOptions {
  /** Refuses, from the header alone, an image declaring more pixels: a decompression bomb. */
  limitInputPixels: number;
  /** A truncated or corrupt image is an error, not a half-grey thumbnail. */
  failOn: 'warning';
  /** The first frame of an animation (GIF, WebP), the first page of a TIFF. */
  pages: 1;
}

export interface PreviewPipeline {
  rotate(): PreviewPipeline;
  resize(width: number, height: number, options: { fit: 'inside'; withoutEnlargement: true }): PreviewPipeline;
  webp(options: { quality: number }): PreviewPipeline;
  timeout(options: { seconds: number }): PreviewPipeline;
  toBuffer(): Promise<Buffer>;
}
