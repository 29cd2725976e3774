import type { Attachment } from '../attachment.js';
import { isPreviewable } from '../previews/previewable-types.js';
import { isoTimestamp } from './iso-timestamp.js';

/**
 * An attachment in JSON: the original app's four keys (`name`, `mimetype`, `size`, `created`)
 * so its front ends keep working, plus `updated`, `sha256` and the download `url`. Its OpenAPI
 * schema lives in the `/openapi` entry, so that an app without @nestjs/swagger never loads it.
 */
export interface AttachmentJson {
  name: string;
  mimetype: string;
  size: number;
  /** ISO 8601 UTC: the first upload of this name. */
  created: string;
  /** ISO 8601 UTC: the last write; expiry counts from here. */
  updated: string;
  sha256: string;
  /** The download URL, as the client reached the bundle. */
  url: string;
  /** The thumbnail URL (`?size=` picks another size): only for images, when previews are on. */
  preview?: string;
}

export function toAttachmentJson(attachment: Attachment, bundleUrl: string, previews = false): AttachmentJson {
  const url = `${bundleUrl}/${encodeURIComponent(attachment.name)}`;
  return {
    name: attachment.name,
    mimetype: attachment.mimetype,
    size: attachment.size,
    created: isoTimestamp(attachment.created.getTime()),
    updated: isoTimestamp(attachment.updated.getTime()),
    sha256: attachment.sha256,
    url,
    ...(previews && isPreviewable(attachment.mimetype) ? { preview: `${url}/preview` } : {}),
  };
}

/** The URL of a bundle as the client reached it (any global prefix included), without slash. */
export function bundleUrlOf(originalUrl: string): string {
  return originalUrl.split('?')[0]!.replace(/\/+$/, '');
}
