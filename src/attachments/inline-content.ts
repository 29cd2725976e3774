import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ByteSource } from './storage/attachment-storage.js';

/**
 * Small files travel with their row ("To BLOB or Not To BLOB", Sears, van Ingen and Gray,
 * 2006: below about 256 KB a database stores and serves objects faster than a file system):
 * one durable commit instead of a file flush, a folder flush and a commit in series.
 *
 * Such a row still has a storage key, so that the unique index on storage keys and every
 * query that hands keys around stay as they are: a marker key that no storage ever lists, made
 * of this prefix and a random UUID (122 random bits; Node draws them from a cached batch, where
 * randomBytes would ask OpenSSL on every upload). Keys of this shape are never given to the storage (see
 * `storedKeys`); a storage that returned one would be refused.
 */
const INLINE_KEY_PREFIX = 'inline:';

export function newInlineKey(): string {
  return INLINE_KEY_PREFIX + randomUUID();
}

export function isInlineKey(key: string): boolean {
  return key.startsWith(INLINE_KEY_PREFIX);
}

/** The keys that name objects in the storage: inline rows' marker keys left out. */
export function storedKeys(keys: readonly string[]): string[] {
  return keys.filter((key) => !isInlineKey(key));
}

/** A file's first bytes, read before deciding where it goes. */
export interface Prefix {
  /** The bytes read, in one buffer. */
  head: Buffer;
  /**
   * Whether that is the whole file. Read it when deciding, not once up front: a stream whose
   * last chunk completed the prefix ends just after (its buffer is empty, so pausing does not
   * hold the end back), and then no byte is left to give back.
   */
  readonly ended: boolean;
}

/**
 * Reads `stream` until it ends or at least `bytes` have arrived, then leaves it paused (and
 * unread beyond that). The bytes read are the caller's: it hands them on, or gives them back
 * with `stream.unshift(head)`.
 */
export function readPrefix(stream: Readable, bytes: number): Promise<Prefix> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const settle = (ended: boolean) => {
      stream.pause();
      stream.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
      const head = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length);
      // Bytes that arrive after the prefix stay in the stream's buffer and hold its end back,
      // so a stream that has ended since holds nothing beyond `head`.
      resolve({
        head,
        get ended() {
          return ended || stream.readableEnded;
        },
      });
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      length += chunk.byteLength;
      if (length >= bytes) settle(false);
    };
    const onEnd = () => settle(true);
    const onError = (error: Error) => {
      stream.off('data', onData).off('end', onEnd).off('close', onClose);
      reject(error);
    };
    // Destroyed without an error (a consumer gave up): no end will come.
    const onClose = () => onError(new Error('the file stream closed before it ended'));
    stream.on('data', onData).once('end', onEnd).once('error', onError).once('close', onClose);
  });
}

/** Any byte source as a stream (a Readable as it is: no stage added). */
export function asReadable(source: ByteSource): Readable {
  return source instanceof Readable ? source : Readable.from(source, { objectMode: false });
}

/** An inline file's bytes, whole or a range (inclusive), as a stream. */
export function inlineStream(content: Buffer, range?: { start: number; end: number }): Readable {
  return Readable.from([range ? content.subarray(range.start, range.end + 1) : content], { objectMode: false });
}
