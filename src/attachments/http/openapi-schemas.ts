import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import type { AttachmentErrorBody, AttachmentErrorCode } from '../attachments.errors.js';
import type { AttachmentJson } from './attachment-json.js';

// The OpenAPI schemas of the module's JSON, for @nestjs/swagger. Only the `/openapi` entry
// loads this file, so an app without Swagger never needs the package. The schema names are
// those the document always used.

@ApiSchema({ name: 'AttachmentJson' })
export class AttachmentJsonDto implements AttachmentJson {
  @ApiProperty({ example: 'spam.txt' }) name!: string;
  @ApiProperty({ example: 'text/plain', description: 'detected from the content, else from the extension' }) mimetype!: string;
  @ApiProperty({ example: 5, description: 'bytes' }) size!: number;
  @ApiProperty({ format: 'date-time', description: 'first upload of this name' }) created!: string;
  @ApiProperty({ format: 'date-time', description: 'last write; expiry counts from here' }) updated!: string;
  @ApiProperty({ example: '284e3029cce3ae5ee0b05866100e300046359f53ae4c77fe6b34c05aa7a72cee' }) sha256!: string;
  @ApiProperty({ example: '/attachments/foo/spam.txt', description: 'download URL' }) url!: string;
  @ApiProperty({
    required: false,
    example: '/attachments/foo/photo.jpg/preview',
    description: 'thumbnail URL; only for images, when previews are enabled',
  })
  preview?: string;
}

/** The JSON body of every error. */
@ApiSchema({ name: 'AttachmentErrorJson' })
export class AttachmentErrorJsonDto implements AttachmentErrorBody {
  @ApiProperty({ example: 404 }) statusCode!: number;
  @ApiProperty({ example: 'Not Found' }) error!: string;
  @ApiProperty({ example: 'not_found', description: 'stable machine code' }) code!: AttachmentErrorCode;
  @ApiProperty({ example: 'No such attachment' }) message!: string;
}
