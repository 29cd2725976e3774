import type { ListedAttachment } from '../attachment.js';
import { isPreviewable } from '../previews/previewable-types.js';
import { isoTimestamp } from './iso-timestamp.js';

/** Text is turned into bytes about every this many UTF-16 units (well below V8's large-object size). */
const CHUNK_UNITS = 16_384;

/**
 * The list route's body: the same bytes as `JSON.stringify` of `toAttachmentJson` for each
 * attachment (same keys, same order, same escaping), written straight from the rows as they
 * arrive (`add`), then taken whole (`finish`).
 *
 * Why not `JSON.stringify`: a thousand attachments are about 240 KB of JSON. Built as objects
 * and then one string, that string lands in V8's large-object space and is copied again into
 * a Buffer (and flattened first, when made of pieces); the list route spent more CPU on that
 * than on its query. Here each row is one short template, and the text goes into a Buffer every
 * 16 K units, so nothing large ever lives on the JavaScript heap.
 */
export class AttachmentListJson {
  private readonly buffers: Buffer[] = [];
  private length = 0;
  private text = '[';
  private count = 0;
  /** `"<bundle url>/` as JSON: a url is this, the encoded name, and a closing quote. */
  private readonly urlStart: string;
  /** Each media type met so far, as JSON and whether it has a preview (a list holds few types). */
  private readonly types = new Map<string, { json: string; preview: boolean }>();

  constructor(
    bundleUrl: string,
    private readonly previews: boolean,
  ) {
    this.urlStart = JSON.stringify(`${bundleUrl}/`).slice(0, -1);
  }

  add(attachment: ListedAttachment): void {
    // encodeURIComponent's output is ASCII letters, digits, `-_.!~*'()` and `%XX`: nothing JSON escapes.
    const url = `${this.urlStart}${encodeURIComponent(attachment.name)}`;
    const type = this.typeOf(attachment.mimetype);
    const created = isoTimestamp(attachment.createdAt);
    // A file never replaced was updated when it was created: one string for both.
    const updated = attachment.updatedAt === attachment.createdAt ? created : isoTimestamp(attachment.updatedAt);
    this.text +=
      `${this.count === 0 ? '' : ','}{"name":${JSON.stringify(attachment.name)},"mimetype":${type.json},` +
      `"size":${Number.isFinite(attachment.size) ? attachment.size : 'null'},"created":"${created}",` +
      `"updated":"${updated}","sha256":${JSON.stringify(attachment.sha256)},"url":${url}"` +
      (type.preview ? `,"preview":${url}/preview"}` : '}');
    this.count += 1;
    if (this.text.length >= CHUNK_UNITS) {
      const buffer = Buffer.from(this.text);
      this.buffers.push(buffer);
      this.length += buffer.byteLength;
      this.text = '';
    }
  }

  private typeOf(mimetype: string): { json: string; preview: boolean } {
    let type = this.types.get(mimetype);
    if (type === undefined) {
      type = { json: JSON.stringify(mimetype), preview: this.previews && isPreviewable(mimetype) };
      this.types.set(mimetype, type);
    }
    return type;
  }

  /** The whole array; the writer is spent. */
  finish(): Buffer {
    const last = Buffer.from(`${this.text}]`);
    this.text = '';
    if (this.buffers.length === 0) return last;
    return Buffer.concat([...this.buffers, last], this.length + last.byteLength);
  }
}

/** The body for entries at hand (see `AttachmentListJson`). */
export function attachmentListJson(attachments: readonly ListedAttachment[], bundleUrl: string, previews: boolean): Buffer {
  const json = new AttachmentListJson(bundleUrl, previews);
  for (const attachment of attachments) json.add(attachment);
  return json.finish();
}
