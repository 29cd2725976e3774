import type { ListedAttachment } from '../attachment.js';
import { isPreviewable } from '../previews/previewable-types.js';
import { isoTimestamp } from './iso-timestamp.js';

/** Text is turned into bytes about every this many UTF-16 units (well below V8's large-object size). */
const CHUNK_UNITS = 16_384;

/**
 * The list route's body: the same bytes as `JSON.stringify` of `toAttachmentJson` for each
 * attachment (same keys, same order, same escaping), written straight from the rows.
 *
 * Why not `JSON.stringify`: a thousand attachments are about 240 KB of JSON. Built as objects
 * and then one string, that string lands in V8's large-object space and is copied again into
 * a Buffer (and flattened first, when made of pieces); the list route spent more CPU on that
 * than on its query. Here each row is one short template, and the text goes into a Buffer every
 * 16 K units, so nothing large ever lives on the JavaScript heap.
 */
export function attachmentListJson(attachments: readonly ListedAttachment[], bundleUrl: string, previews: boolean): Buffer {
  const buffers: Buffer[] = [];
  let length = 0;
  let text = '[';
  for (let index = 0; index < attachments.length; index += 1) {
    const attachment = attachments[index]!;
    const url = `${bundleUrl}/${encodeURIComponent(attachment.name)}`;
    text +=
      `${index === 0 ? '' : ','}{"name":${JSON.stringify(attachment.name)},"mimetype":${JSON.stringify(attachment.mimetype)},` +
      `"size":${JSON.stringify(attachment.size)},"created":"${isoTimestamp(attachment.createdAt)}",` +
      `"updated":"${isoTimestamp(attachment.updatedAt)}","sha256":${JSON.stringify(attachment.sha256)},"url":${JSON.stringify(url)}` +
      (previews && isPreviewable(attachment.mimetype) ? `,"preview":${JSON.stringify(`${url}/preview`)}}` : '}');
    if (text.length >= CHUNK_UNITS) {
      const buffer = Buffer.from(text);
      buffers.push(buffer);
      length += buffer.byteLength;
      text = '';
    }
  }
  const last = Buffer.from(`${text}]`);
  buffers.push(last);
  return buffers.length === 1 ? last : Buffer.concat(buffers, length + last.byteLength);
}
