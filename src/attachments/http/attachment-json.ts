import { ApiProperty } from '@nestjs/swagger';
import type { Attachment } from '../attachment.js';
import { isoTimestamp } from './iso-timestamp.js';

/**
 * An attachment in JSON: the original app's four keys (`name`, `mimetype`, `size`, `created`)
 * so its front ends keep working, plus `updated`, `sha256` and the download `url`.
 */
export class AttachmentJson {
  @ApiProperty({ example: 'spam.txt' }) name!: string;
  @ApiProperty({ example: 'text/plain', description: 'detected from the content, else from the extension' }) mimetype!: string;
  @ApiProperty({ example: 5, description: 'bytes' }) size!: number;
  @ApiProperty({ format: 'date-time', description: 'first upload of this name' }) created!: string;
  @ApiProperty({ format: 'date-time', description: 'last write; expiry counts from here' }) updated!: string;
  @ApiProperty({ example: '284e3029cce3ae5ee0b05866100e300046359f53ae4c77fe6b34c05aa7a72cee' }) sha256!: string;
  @ApiProperty({ example: '/attachments/foo/spam.txt', description: 'download URL' }) url!: string;
}

/** The JSON body of every error (documented for OpenAPI). */
export class AttachmentErrorJson {
  @ApiProperty({ example: 404 }) statusCode!: number;
  @ApiProperty({ example: 'Not Found' }) error!: string;
  @ApiProperty({ example: 'not_found', description: 'stable machine code' }) code!: string;
  @ApiProperty({ example: 'No such attachment' }) message!: string;
}

export function toAttachmentJson(attachment: Attachment, bundleUrl: string): AttachmentJson {
  return {
    name: attachment.name,
    mimetype: attachment.mimetype,
    size: attachment.size,
    created: isoTimestamp(attachment.created.getTime()),
    updated: isoTimestamp(attachment.updated.getTime()),
    sha256: attachment.sha256,
    url: `${bundleUrl}/${encodeURIComponent(attachment.name)}`,
  };
}

/** The URL of a bundle as the client reached it (any global prefix included), without slash. */
export function bundleUrlOf(originalUrl: string): string {
  return originalUrl.split('?')[0]!.replace(/\/+$/, '');
}
