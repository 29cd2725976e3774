import type { Attachment } from '../attachment.js';

/**
 * An attachment in JSON: the original app's four keys (`name`, `mimetype`, `size`, `created`)
 * so its front ends keep working, plus `updated`, `sha256` and the download `url`.
 */
export interface AttachmentJson {
  name: string;
  mimetype: string;
  size: number;
  created: string;
  updated: string;
  sha256: string;
  url: string;
}

export function toAttachmentJson(attachment: Attachment, bundleUrl: string): AttachmentJson {
  return {
    name: attachment.name,
    mimetype: attachment.mimetype,
    size: attachment.size,
    created: attachment.created.toISOString(),
    updated: attachment.updated.toISOString(),
    sha256: attachment.sha256,
    url: `${bundleUrl}/${encodeURIComponent(attachment.name)}`,
  };
}

/** The URL of a bundle as the client reached it (any global prefix included), without slash. */
export function bundleUrlOf(originalUrl: string): string {
  return originalUrl.split('?')[0]!.replace(/\/+$/, '');
}
