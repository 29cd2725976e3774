import { AttachmentsException } from '../attachments.errors.js';

const KEY = /^[^\s,]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * The pairs of a tus `Upload-Metadata` header: comma-separated `key base64value` (the value,
 * and the space before it, may be left out), keys unique. Values come back decoded as UTF-8.
 */
export function parseUploadMetadata(header: string): Map<string, string> {
  const pairs = new Map<string, string>();
  if (header.trim() === '') return pairs;
  for (const item of header.split(',')) {
    const [key = '', value = '', ...rest] = item.trim().split(' ');
    if (!KEY.test(key) || rest.length > 0 || !BASE64.test(value) || pairs.has(key)) {
      throw AttachmentsException.create('invalid_upload_metadata', 'e.g. "filename ZG9jLnBkZg==,filetype YXBwbGljYXRpb24vcGRm"');
    }
    pairs.set(key, Buffer.from(value, 'base64').toString('utf8'));
  }
  return pairs;
}

/** The file name a tus client sent: the `filename` key (tus-js-client, Uppy), else `name`. */
export function uploadName(metadata: Map<string, string>): string {
  const name = metadata.get('filename') ?? metadata.get('name');
  if (name === undefined) {
    throw AttachmentsException.create('invalid_name', 'send the file name as "filename" in Upload-Metadata (base64)');
  }
  return name;
}
