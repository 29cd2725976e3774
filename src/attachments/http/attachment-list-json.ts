import type { ListedAttachment } from '../attachment.js';
import { isPreviewable } from '../previews/previewable-types.js';
import { ByteChunks } from './byte-chunks.js';
import { isoDayPrefix, splitTimestamp, timeOfDay } from './iso-timestamp.js';

const bytes = (text: string) => Buffer.from(text, 'utf8');
const NAME = bytes('{"name":');
const MIMETYPE = bytes(',"mimetype":');
const SIZE = bytes(',"size":');
const CREATED = bytes(',"created":"');
const UPDATED = bytes('","updated":"');
const SHA256 = bytes('","sha256":');
const URL_KEY = bytes(',"url":');
const PREVIEW = bytes(',"preview":');
const PREVIEW_END = bytes('/preview"}');
/** The most bytes of a row besides its name, hash, type, URL prefix and date prefix. */
const FIXED_ROW_BYTES = 256;

/** The characters encodeURIComponent leaves as they are: letters, digits and `-_.!~*'()`. */
const URI_UNRESERVED = new Uint8Array(128);
for (const character of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()")
  URI_UNRESERVED[character.charCodeAt(0)] = 1;

/** Printable ASCII with no `"` or `\`: JSON.stringify adds quotes and changes nothing else. */
function isPlainAscii(text: string): boolean {
  for (let index = 0; index < text.length; index += 1) {
    const unit = text.charCodeAt(index);
    if (unit < 0x20 || unit >= 0x7f || unit === 0x22 || unit === 0x5c) return false;
  }
  return true;
}

/**
 * The list route's body: the same bytes as `JSON.stringify` of `toAttachmentJson` for each
 * attachment (same keys, same order, same escaping), written straight from the rows as they
 * arrive (`add`), then taken whole (`finish`).
 *
 * Why not `JSON.stringify`, nor strings at all: a thousand attachments are about 240 KB of
 * JSON. Built as objects and then one string, that string landed in V8's large-object space
 * and was copied again into a Buffer; built as one template string per row, the pieces (cons
 * strings, digits, escaped names, the flattened text) still came to about 1.4 MB of young
 * garbage per list, 70% of what the whole request allocated, and the young collections it
 * brought, a few of them slow, made the list's p99. So the bytes go into Buffers directly
 * (`ByteChunks`): names of printable ASCII, hashes, numbers and times are written byte by
 * byte with no allocation; only other names are escaped as strings first (by JSON.stringify
 * and encodeURIComponent themselves, so every escape is theirs).
 */
export class AttachmentListJson {
  private readonly out = new ByteChunks();
  private count = 0;
  /** `"<bundle url>/` as JSON, in UTF-8: a url is this, the encoded name, and a closing quote. */
  private readonly urlStart: Buffer;
  /** Each media type met so far, as JSON bytes and whether it has a preview (a list holds few types). */
  private readonly types = new Map<string, { json: Buffer; preview: boolean }>();
  /** The date part of the last timestamp's day, `YYYY-MM-DDT`, as toISOString writes it. */
  private day = Number.NaN;
  private dayPrefix = Buffer.alloc(0);

  constructor(
    bundleUrl: string,
    private readonly previews: boolean,
  ) {
    this.urlStart = bytes(JSON.stringify(`${bundleUrl}/`).slice(0, -1));
    this.out.reserve(1);
    this.out.putByte(0x5b); // [
  }

  add(attachment: ListedAttachment): void {
    const { name, sha256 } = attachment;
    const plainName = isPlainAscii(name);
    // Other names are escaped by the functions whose output this must equal (and fail as
    // they would: encodeURIComponent throws on a lone surrogate, before anything is written).
    const encodedName = plainName ? '' : encodeURIComponent(name);
    const jsonName = plainName ? '' : JSON.stringify(name);
    const plainHash = isPlainAscii(sha256);
    const type = this.typeOf(attachment.mimetype);
    const out = this.out;
    const urlBytes = this.urlStart.length + (plainName ? 3 * name.length : encodedName.length);
    out.reserve(
      FIXED_ROW_BYTES +
        (plainName ? name.length : 3 * jsonName.length) +
        type.json.length +
        2 * urlBytes +
        (plainHash ? sha256.length : 3 * 6 * sha256.length) +
        2 * Math.max(this.dayPrefix.length, 32),
    );
    if (this.count > 0) out.putByte(0x2c); // ,
    out.putBytes(NAME);
    if (plainName) {
      out.putByte(0x22);
      out.putAscii(name);
      out.putByte(0x22);
    } else out.putUtf8(jsonName);
    out.putBytes(MIMETYPE);
    out.putBytes(type.json);
    out.putBytes(SIZE);
    const size = attachment.size;
    if (Number.isSafeInteger(size) && size >= 0) out.putUnsigned(size);
    else out.putAscii(Number.isFinite(size) ? String(size) : 'null');
    out.putBytes(CREATED);
    this.putTimestamp(attachment.createdAt);
    out.putBytes(UPDATED);
    this.putTimestamp(attachment.updatedAt);
    out.putBytes(SHA256);
    if (plainHash) {
      out.putByte(0x22);
      out.putAscii(sha256);
      out.putByte(0x22);
    } else out.putUtf8(JSON.stringify(sha256));
    out.putBytes(URL_KEY);
    this.putUrl(name, plainName, encodedName);
    out.putByte(0x22);
    if (type.preview) {
      out.putBytes(PREVIEW);
      this.putUrl(name, plainName, encodedName);
      out.putBytes(PREVIEW_END);
    } else out.putByte(0x7d); // }
    this.count += 1;
  }

  /** The whole array; the writer is spent. */
  finish(): Buffer {
    this.out.reserve(1);
    this.out.putByte(0x5d); // ]
    return this.out.finish();
  }

  private putUrl(name: string, plainName: boolean, encodedName: string): void {
    this.out.putBytes(this.urlStart);
    if (!plainName) {
      this.out.putAscii(encodedName);
      return;
    }
    for (let index = 0; index < name.length; index += 1) {
      const unit = name.charCodeAt(index);
      if (URI_UNRESERVED[unit] === 1) this.out.putByte(unit);
      else this.out.putPercentEscaped(unit);
    }
  }

  /** What `new Date(ms).toISOString()` returns, as bytes. */
  private putTimestamp(ms: number): void {
    if (!Number.isSafeInteger(ms)) {
      // Not from a database's integer column: Date's own rounding, range and errors.
      this.out.putAscii(new Date(ms).toISOString());
      return;
    }
    const day = splitTimestamp(ms);
    if (day !== this.day) {
      this.dayPrefix = Buffer.from(isoDayPrefix(day), 'latin1');
      this.day = day;
    }
    this.out.putBytes(this.dayPrefix);
    this.out.putPadded(timeOfDay[0]!, 2);
    this.out.putByte(0x3a); // :
    this.out.putPadded(timeOfDay[1]!, 2);
    this.out.putByte(0x3a);
    this.out.putPadded(timeOfDay[2]!, 2);
    this.out.putByte(0x2e); // .
    this.out.putPadded(timeOfDay[3]!, 3);
    this.out.putByte(0x5a); // Z
  }

  private typeOf(mimetype: string): { json: Buffer; preview: boolean } {
    let type = this.types.get(mimetype);
    if (type === undefined) {
      type = { json: bytes(JSON.stringify(mimetype)), preview: this.previews && isPreviewable(mimetype) };
      this.types.set(mimetype, type);
    }
    return type;
  }
}

/** The body for entries at hand (see `AttachmentListJson`). */
export function attachmentListJson(attachments: readonly ListedAttachment[], bundleUrl: string, previews: boolean): Buffer {
  const json = new AttachmentListJson(bundleUrl, previews);
  for (const attachment of attachments) json.add(attachment);
  return json.finish();
}
