// writeBatchedToFile: how the disk storage writes a stream into a file. A fast source goes out
// in few big writes (each write is a trip through the thread pool), a slow one reaches the file
// as it comes (no bytes wait in memory for a batch to fill), and every way it can stop or fail
// leaves the descriptor closed and the count exact.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { fstat, open as openCallback } from 'node:fs';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { FILE_BATCH_BYTES, writeBatchedToFile } from '../../src/attachments/storage/batched-file-write.js';
import { waitFor } from '../support/wait-for.js';

const MiB = 1024 * 1024;
const newFile = async () => join(await mkdtemp(join(tmpdir(), 'attachments-batched-')), 'file');
const openFile = (path: string, flags: string) =>
  new Promise<number>((opened, failed) => openCallback(path, flags, (error, fd) => (error ? failed(error) : opened(fd))));
const isClosed = (fd: number) => new Promise<boolean>((answered) => fstat(fd, (error) => answered(error?.code === 'EBADF')));

/** `bytes` in 64 KiB pieces, as a request body arrives. */
function pieces(bytes: Buffer, size = 64 * 1024): Buffer[] {
  const result: Buffer[] = [];
  for (let start = 0; start < bytes.length; start += size) result.push(bytes.subarray(start, start + size));
  return result;
}

describe('writeBatchedToFile', () => {
  test('a source that gives bytes faster than the file takes them goes out in full batches, whole and in order', async () => {
    const path = await newFile();
    const content = randomBytes(8 * MiB);
    const writes: number[] = [];
    const result = await writeBatchedToFile(Readable.from(pieces(content)), {
      open: () => openFile(path, 'wx'),
      flush: true,
      onSourceFailure: 'discard',
      afterWrite: (_fd, written) => writes.push(written),
    });
    assert.equal(result.written, content.byteLength);
    assert.equal(result.sourceError, undefined);
    assert.ok((await readFile(path)).equals(content));
    // A write per 64 KiB piece would be 128; batches of 512 KiB make 16.
    assert.ok(writes.length <= 32, `${writes.length} writes`);
    assert.ok(writes.length >= content.byteLength / FILE_BATCH_BYTES);
  });

  test('thousands of tiny pieces in one batch (more than one writev takes) are all written, in order', async () => {
    const path = await newFile();
    const content = randomBytes(400_000);
    const result = await writeBatchedToFile(Readable.from(pieces(content, 100)), {
      open: () => openFile(path, 'wx'),
      flush: false,
      onSourceFailure: 'keep',
    });
    assert.equal(result.written, content.byteLength);
    assert.ok((await readFile(path)).equals(content));
  });

  test('a slow source: each piece is in the file before the next one comes, none waits for a batch to fill', async () => {
    const path = await newFile();
    const source = new PassThrough();
    const done = writeBatchedToFile(source, { open: () => openFile(path, 'wx'), flush: false, onSourceFailure: 'keep' });
    const piece = randomBytes(10_000);
    for (let sent = 1; sent <= 5; sent += 1) {
      source.write(piece);
      assert.ok(await waitFor(async () => (await stat(path)).size === sent * piece.byteLength), `piece ${sent} reached the file`);
    }
    source.end();
    assert.equal((await done).written, 5 * piece.byteLength);
  });

  test('bytes that arrive while the file still opens wait for it, the source pausing after a batch, and all are written at the position', async () => {
    const path = await newFile();
    await writeFile(path, Buffer.alloc(10, 'a'));
    const content = randomBytes(3 * MiB);
    const source = Readable.from(pieces(content));
    let opened!: () => void;
    const opening = new Promise<void>((resolve) => (opened = resolve));
    const done = writeBatchedToFile(source, {
      open: () => opening.then(() => openFile(path, 'r+')),
      position: 4,
      flush: true,
      onSourceFailure: 'keep',
    });
    // The source has been read up to a batch and waits: it is not read to its end into memory.
    assert.ok(await waitFor(() => source.isPaused()), 'the source waits for the file');
    assert.ok(source.readableLength + FILE_BATCH_BYTES < content.byteLength);
    opened();
    assert.equal((await done).written, content.byteLength);
    const file = await readFile(path);
    assert.equal(file.subarray(0, 4).toString(), 'aaaa');
    assert.ok(file.subarray(4).equals(content));
  });

  test('maxBytes: the piece that crosses it is cut, nothing past it is written, the source is still read to its end', async () => {
    const path = await newFile();
    const content = randomBytes(MiB);
    const source = Readable.from(pieces(content));
    const result = await writeBatchedToFile(source, {
      open: () => openFile(path, 'wx'),
      maxBytes: 100_000,
      flush: false,
      onSourceFailure: 'keep',
    });
    assert.equal(result.written, 100_000);
    assert.ok((await readFile(path)).equals(content.subarray(0, 100_000)));
    assert.equal(source.readableEnded, true);
  });

  test('a source that fails: `keep` writes every byte it gave and reports its error; `discard` reports it too, and both close the file', async () => {
    for (const onSourceFailure of ['keep', 'discard'] as const) {
      const path = await newFile();
      const content = randomBytes(MiB);
      const failure = new Error('the client went away');
      const source = new Readable({ read() {} });
      for (const piece of pieces(content)) source.push(piece);
      let descriptor = -1;
      const done = writeBatchedToFile(source, {
        open: async () => (descriptor = await openFile(path, 'wx')),
        flush: true,
        onSourceFailure,
      });
      let given = 0;
      source.on('data', (chunk: Buffer) => {
        given += chunk.byteLength;
        if (given > 300_000) source.destroy(failure);
      });
      const result = await done;
      assert.equal(result.sourceError, failure);
      assert.ok(await isClosed(descriptor), `${onSourceFailure}: the descriptor is closed`);
      const file = await readFile(path);
      if (onSourceFailure === 'keep') {
        assert.equal(result.written, given);
        assert.ok(file.equals(content.subarray(0, given)));
      } else {
        assert.ok(file.equals(content.subarray(0, result.written)), 'discard: what was written is a prefix, counted exactly');
      }
    }
  });

  test('a file that cannot be written rejects with the write error once the descriptor is closed; one that cannot be opened, with the open error', async () => {
    const path = await newFile();
    await writeFile(path, '');
    let descriptor = -1;
    await assert.rejects(
      writeBatchedToFile(Readable.from(pieces(randomBytes(MiB))), {
        open: async () => (descriptor = await openFile(path, 'r')),
        flush: true,
        onSourceFailure: 'keep',
      }),
      { code: 'EBADF' },
    );
    assert.ok(await isClosed(descriptor));
    // Its owner then lets the source go with the error, as a pipe would: heard, not an unhandled 'error'.
    const source = new Readable({ read() {} });
    for (const piece of pieces(randomBytes(MiB))) source.push(piece);
    const failed = writeBatchedToFile(source, { open: () => openFile(path, 'r'), flush: false, onSourceFailure: 'discard' });
    await assert.rejects(failed, { code: 'EBADF' });
    source.destroy(new Error('let go'));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(source.destroyed, true);
    await assert.rejects(
      writeBatchedToFile(Readable.from([Buffer.from('x')]), {
        open: () => openFile(join(path, 'missing', 'file'), 'wx'),
        flush: false,
        onSourceFailure: 'keep',
      }),
      { code: 'ENOTDIR' },
    );
  });
});
