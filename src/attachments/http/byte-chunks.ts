/** The first chunk: a draft's few attachments fit in it. */
const FIRST_CHUNK_BYTES = 8 * 1024;
/** Later chunks, unless one piece needs more: a list's 1,000 rows fill about four. */
const CHUNK_BYTES = 64 * 1024;

const HEX = Buffer.from('0123456789ABCDEF', 'latin1');

/**
 * Bytes written straight into Buffers, piece by piece, with no string in between: for text
 * that is built from many small parts per row (the list route's JSON), where building strings
 * first allocated five times the text's size on the JavaScript heap (cons strings, digits,
 * the flattened text), and so brought young collections, and the list's slow tail, several
 * times as often. The Buffers themselves live outside that heap.
 *
 * A writer reserves room for a piece first (`reserve`, an upper bound on its bytes), then
 * writes it with the `put…` methods, which do not check for room.
 */
export class ByteChunks {
  private readonly full: Buffer[] = [];
  private fullBytes = 0;
  private chunk = Buffer.allocUnsafe(FIRST_CHUNK_BYTES);
  private at = 0;

  /** Makes room for `bytes` more bytes in the current chunk. */
  reserve(bytes: number): void {
    if (this.at + bytes <= this.chunk.length) return;
    if (this.at > 0) {
      this.full.push(this.chunk.subarray(0, this.at));
      this.fullBytes += this.at;
    }
    this.chunk = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, bytes));
    this.at = 0;
  }

  putByte(byte: number): void {
    this.chunk[this.at++] = byte;
  }

  /** Bytes made once and written many times (fixed parts of a template). */
  putBytes(bytes: Uint8Array): void {
    if (bytes.length > 16) {
      this.chunk.set(bytes, this.at);
      this.at += bytes.length;
      return;
    }
    for (let index = 0; index < bytes.length; index += 1) this.chunk[this.at++] = bytes[index]!;
  }

  /** A string whose every unit is below 0x80 (the caller checked), one byte each. */
  putAscii(text: string): void {
    for (let index = 0; index < text.length; index += 1) this.chunk[this.at++] = text.charCodeAt(index);
  }

  /** Any string as UTF-8; reserve 3 bytes per UTF-16 unit. */
  putUtf8(text: string): void {
    this.at += this.chunk.write(text, this.at, 'utf8');
  }

  /** A non-negative integer below 2^53, in decimal (as `String` writes it); reserve 16 bytes. */
  putUnsigned(value: number): void {
    if (value < 10) {
      this.chunk[this.at++] = 0x30 + value;
      return;
    }
    let digits = 1;
    for (let bound = 10; bound <= value; bound *= 10) digits += 1;
    this.putPadded(value, digits);
  }

  /** `value` (0 to 10^width - 1) with leading zeros to `width` digits. */
  putPadded(value: number, width: number): void {
    let rest = value;
    for (let index = this.at + width - 1; index >= this.at; index -= 1) {
      const next = Math.floor(rest / 10);
      this.chunk[index] = 0x30 + (rest - next * 10);
      rest = next;
    }
    this.at += width;
  }

  /** `%XX`, as encodeURIComponent escapes a byte. */
  putPercentEscaped(byte: number): void {
    this.chunk[this.at++] = 0x25;
    this.chunk[this.at++] = HEX[byte >> 4]!;
    this.chunk[this.at++] = HEX[byte & 15]!;
  }

  /** Everything written, as one Buffer; the writer is spent. */
  finish(): Buffer {
    const last = this.chunk.subarray(0, this.at);
    if (this.full.length === 0) return last;
    return Buffer.concat([...this.full, last], this.fullBytes + this.at);
  }
}
