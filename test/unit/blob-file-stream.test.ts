import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { fstatSync } from 'node:fs';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { BlobFileStream, sendsItself } from '../../src/attachments/storage/blob-file-stream.js';

/** More than two chunks of 256 KiB and a ragged tail, so both buffers are reused. */
const SIZE = 3 * 256 * 1024 + 12_345;

/**
 * A Writable that keeps each chunk it was given and copies it only later, just before calling
 * back, as a socket does: a sender that reused a buffer before the callback would corrupt it.
 */
class LateCopyingSink extends Writable {
  readonly copies: Buffer[] = [];
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    setImmediate(() => {
      this.copies.push(Buffer.from(chunk));
      callback();
    });
  }
  bytes(): Buffer {
    return Buffer.concat(this.copies);
  }
}

/** The descriptor a stream holds, read for the test only. */
const fdOf = (stream: BlobFileStream) => (stream as unknown as { fd: number | undefined }).fd;

const isOpen = (fd: number) => {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
};

describe('BlobFileStream', () => {
  let folder: string;
  let path: string;
  let content: Buffer;

  before(async () => {
    folder = await mkdtemp(join(tmpdir(), 'blob-file-stream-'));
    path = join(folder, 'blob');
    content = randomBytes(SIZE);
    await writeFile(path, content);
  });
  after(() => rm(folder, { recursive: true, force: true }));

  test('a missing file rejects when opening, before any stream exists', async () => {
    await assert.rejects(BlobFileStream.open(join(folder, 'missing')), { code: 'ENOENT' });
  });

  test('as a Readable it yields the whole file, or exactly an inclusive range', async () => {
    assert.deepEqual(Buffer.concat(await (await BlobFileStream.open(path)).toArray()), content);
    const range = { start: 100_000, end: 600_000 };
    const chunks = await (await BlobFileStream.open(path, range)).toArray();
    assert.deepEqual(Buffer.concat(chunks), content.subarray(range.start, range.end + 1));
    // Each chunk is a buffer of its own, which the reader may keep.
    assert.equal(new Set(chunks.map((chunk: Buffer) => chunk.buffer)).size, chunks.length);
  });

  test('sendTo writes the same bytes through two reused buffers, waiting for each callback', async () => {
    const stream = await BlobFileStream.open(path);
    assert.ok(sendsItself(stream));
    const sink = new LateCopyingSink();
    await stream.sendTo(sink);
    assert.deepEqual(sink.bytes(), content);
    assert.ok(sink.copies.length > 2, 'more chunks than buffers');
    assert.ok(stream.destroyed, 'the stream is done with, its file closed');
  });

  test('sendTo of a range sends exactly that range', async () => {
    const range = { start: 262_143, end: 262_144 * 2 + 1 };
    const sink = new LateCopyingSink();
    await (await BlobFileStream.open(path, range)).sendTo(sink);
    assert.deepEqual(sink.bytes(), content.subarray(range.start, range.end + 1));
  });

  test('a file shorter than the range rejects instead of sending a short body', async () => {
    const short = join(folder, 'short');
    await writeFile(short, content);
    const stream = await BlobFileStream.open(short, { start: 0, end: SIZE - 1 });
    await truncate(short, 300_000);
    await assert.rejects(stream.sendTo(new LateCopyingSink()), /ended at byte 300000/);
    assert.ok(stream.destroyed);
    const reader = await BlobFileStream.open(short, { start: 0, end: SIZE - 1 });
    await assert.rejects(reader.toArray(), /ended at byte 300000/);
  });

  test('a target destroyed mid-way ends sendTo quietly and closes the file', async () => {
    const stream = await BlobFileStream.open(path);
    const fd = fdOf(stream)!;
    let writes = 0;
    // Takes the first chunk and never calls back: only its 'close' can end the wait.
    const stalled = new Writable({ write: () => setImmediate(() => stalled.destroy()) });
    const write = stalled.write.bind(stalled) as (chunk: Buffer, callback: () => void) => boolean;
    stalled.write = ((chunk: Buffer, callback: () => void) => {
      writes += 1;
      return write(chunk, callback);
    }) as typeof stalled.write;
    await stream.sendTo(stalled);
    assert.equal(writes, 2, 'both buffers were in flight, and no write came after the target went away');
    await new Promise((resolve) => stream.once('close', resolve));
    assert.equal(isOpen(fd), false, 'the descriptor was closed');
  });

  test('sendTo refuses a stream that was already read from', async () => {
    const stream = await BlobFileStream.open(path);
    stream.read(0);
    await new Promise((resolve) => stream.once('readable', resolve));
    stream.read();
    await assert.rejects(stream.sendTo(new LateCopyingSink()), /already read/);
    stream.destroy();
  });
});
