// DiskStorage's ResumableWrites: the in-place strategy of tus uploads writes every PATCH at its
// offset into one blob that createEmpty made. What writeAt resolves is what the upload's next
// offset is based on, so it must be exact however the source stops.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { fstat as fstatCallback } from 'node:fs';
import { mkdtemp, readdir, stat } from 'node:fs/promises';
import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { DiskStorage } from '../../src/attachments/index.js';
import { supportsResumableWrites } from '../../src/attachments/storage/attachment-storage.js';
import { waitFor } from '../support/wait-for.js';

const MiB = 1024 * 1024;
const folder = () => mkdtemp(join(tmpdir(), 'attachments-resumable-'));
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const fstat = promisify(fstatCallback);

async function bytesOf(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function keys(storage: DiskStorage): Promise<string[]> {
  const found: string[] = [];
  for await (const object of storage.list()) found.push(object.key);
  return found.sort();
}

/** `bytes` in pieces of `size`, as a request body arrives. */
function pieces(bytes: Buffer, size = 64 * 1024): Buffer[] {
  const result: Buffer[] = [];
  for (let start = 0; start < bytes.length; start += size) result.push(bytes.subarray(start, start + size));
  return result;
}

/**
 * A source that gives `bytes` in 64 KiB pieces as it is read, then stops as `stop` says: with
 * that error (a limit that refused the rest), or destroyed without one (a client gone). It
 * stops only once every piece has been taken from it: all of `bytes` is given.
 */
function givingThenStopping(bytes: Buffer, stop: Error | 'destroyed'): Readable {
  const queue = pieces(bytes);
  return new Readable({
    read() {
      const next = queue.shift();
      if (next) this.push(next);
      else setImmediate(() => (stop === 'destroyed' ? this.destroy() : this.destroy(stop)));
    },
  });
}

/** A folder flush that records which folders were flushed. */
function recordedFlushes() {
  const flushed: string[] = [];
  return { flushed, flushOne: async (path: string) => void flushed.push(path) };
}

describe('DiskStorage resumable writes (createEmpty, writeAt)', () => {
  test('DiskStorage offers the capability', async () => {
    assert.equal(supportsResumableWrites(new DiskStorage({ directory: await folder() })), true);
  });

  test('createEmpty makes an empty blob that list() yields, under a blob key; written in pieces at their offsets it reads back whole, then deletes like any blob', async () => {
    const directory = await folder();
    const storage = new DiskStorage({ directory });
    const { key } = await storage.createEmpty();
    assert.match(key, /^[0-9a-f]{32}$/);
    assert.deepEqual(await keys(storage), [key], 'the orphan sweep sees it before any byte arrives');
    assert.deepEqual(await readdir(join(directory, 'blobs', key.slice(0, 2))), [key]);
    assert.equal((await bytesOf(await storage.read(key))).length, 0);

    const bytes = randomBytes(20 * MiB + 5);
    let offset = 0;
    for (const size of [8 * MiB, 8 * MiB, 4 * MiB + 5]) {
      const written = await storage.writeAt(key, offset, Readable.from(pieces(bytes.subarray(offset, offset + size))));
      assert.equal(written, size);
      offset += written;
    }
    assert.equal(sha256(await bytesOf(await storage.read(key))), sha256(bytes));
    assert.equal(
      sha256(await bytesOf(await storage.read(key, { start: 8 * MiB - 3, end: 8 * MiB + 2 }))),
      sha256(bytes.subarray(8 * MiB - 3, 8 * MiB + 3)),
    );
    assert.deepEqual(await keys(storage), [key]);
    await storage.delete(key);
    assert.deepEqual(await keys(storage), []);
  });

  test('writeAt overwrites only its own range: bytes before stay, bytes past it stay (no truncation)', async () => {
    const storage = new DiskStorage({ directory: await folder() });
    const { key } = await storage.createEmpty();
    assert.equal(await storage.writeAt(key, 0, Readable.from([Buffer.from('0123456789')])), 10);
    // A PATCH that resumes at 4 rewrites what an interrupted one left past the committed offset.
    assert.equal(await storage.writeAt(key, 4, Readable.from([Buffer.from('ab')])), 2);
    assert.equal(String(await bytesOf(await storage.read(key))), '0123ab6789');
    assert.equal(await storage.writeAt(key, 10, Readable.from([Buffer.from('!')])), 1);
    assert.equal(String(await bytesOf(await storage.read(key))), '0123ab6789!');
  });

  test('maxBytes: the chunk that crosses it is written up to it, nothing past it, and the source is still read to its end', async () => {
    const storage = new DiskStorage({ directory: await folder() });
    const { key } = await storage.createEmpty();
    const given = randomBytes(3 * MiB);
    const source = Readable.from(pieces(given));
    let ended = false;
    source.once('end', () => (ended = true));
    // The upload's room: 1 MiB + 1000 bytes, in the middle of a 64 KiB chunk.
    assert.equal(await storage.writeAt(key, 0, source, MiB + 1000), MiB + 1000);
    assert.equal(ended, true, 'read to its end, so that its owner sees all it sent');
    assert.equal(sha256(await bytesOf(await storage.read(key))), sha256(given.subarray(0, MiB + 1000)));
    assert.equal(await storage.writeAt(key, MiB + 1000, Readable.from([Buffer.from('xyz')]), 0), 0);
    assert.equal((await bytesOf(await storage.read(key))).length, MiB + 1000);
  });

  test('a source that fails after megabytes: writeAt resolves exactly the bytes it gave, and they are in the file', async () => {
    const storage = new DiskStorage({ directory: await folder() });
    const { key } = await storage.createEmpty();
    const before = randomBytes(MiB);
    assert.equal(await storage.writeAt(key, 0, Readable.from([before])), MiB);
    // The pieces come faster than the disk takes them: when the error comes, megabytes are still
    // queued in the file's stream, and they must be written, not dropped.
    const given = randomBytes(9 * MiB);
    const source = givingThenStopping(given, new Error('limit reached'));
    const written = await storage.writeAt(key, MiB, source);
    assert.equal(written, given.length);
    const stored = await bytesOf(await storage.read(key));
    assert.equal(stored.length, MiB + given.length);
    assert.equal(sha256(stored), sha256(Buffer.concat([before, given])));
  });

  test('a source that ends early without an error (destroyed): writeAt resolves what it gave', async () => {
    const storage = new DiskStorage({ directory: await folder() });
    const { key } = await storage.createEmpty();
    const given = randomBytes(3 * MiB);
    const source = givingThenStopping(given, 'destroyed');
    assert.equal(await storage.writeAt(key, 0, source), given.length);
    assert.equal(sha256(await bytesOf(await storage.read(key))), sha256(given));
  });

  test('a source that fails before any byte, or an already ended one: 0 bytes, the file unchanged', async () => {
    const storage = new DiskStorage({ directory: await folder() });
    const { key } = await storage.createEmpty();
    await storage.writeAt(key, 0, Readable.from([Buffer.from('kept')]));
    const failing = new Readable({ read() {} });
    failing.destroy(new Error('gone at once'));
    assert.equal(await storage.writeAt(key, 0, failing), 0);
    const ended = Readable.from([]);
    await bytesOf(ended);
    assert.equal(await storage.writeAt(key, 2, ended), 0);
    assert.equal(String(await bytesOf(await storage.read(key))), 'kept');
  });

  test('an HTTP request body cut by the client mid-way: writeAt resolves the bytes the server received, and the file holds exactly them', async () => {
    const storage = new DiskStorage({ directory: await folder() });
    const { key } = await storage.createEmpty();
    const body = randomBytes(16 * MiB);
    let received = 0;
    let written: Promise<number> | undefined;
    const server = createServer((req: IncomingMessage) => {
      req.on('data', (chunk: Buffer) => (received += chunk.length));
      written = storage.writeAt(key, 0, req);
    });
    await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
    try {
      const { port } = server.address() as AddressInfo;
      const client = request({ host: '127.0.0.1', port, method: 'PATCH', headers: { 'content-length': String(body.length) } });
      client.on('error', () => undefined);
      client.write(body.subarray(0, 6 * MiB));
      assert.ok(await waitFor(() => received >= 4 * MiB), 'the server received megabytes');
      client.destroy();
      assert.ok(await waitFor(() => written !== undefined));
      const count = await written!;
      assert.equal(count, received);
      assert.ok(count > 0 && count < body.length);
      assert.equal(sha256(await bytesOf(await storage.read(key))), sha256(body.subarray(0, count)));
    } finally {
      server.closeAllConnections();
      await new Promise((closed) => server.close(closed));
    }
  });

  test('writeAt refuses what is not an existing blob: unknown key (ENOENT), temporary keys, paths, bad offsets', async () => {
    const storage = new DiskStorage({ directory: await folder() });
    await assert.rejects(
      storage.writeAt('ab'.repeat(16), 0, Readable.from([Buffer.from('x')])),
      (error: NodeJS.ErrnoException) => error.code === 'ENOENT',
    );
    for (const key of [`${'a'.repeat(32)}.part`, '../../etc/passwd', '/etc/passwd', ''])
      await assert.rejects(storage.writeAt(key, 0, Readable.from([Buffer.from('x')])), /not a blob key/);
    const { key } = await storage.createEmpty();
    for (const offset of [-1, 1.5, Number.NaN])
      await assert.rejects(storage.writeAt(key, offset, Readable.from([Buffer.from('x')])), RangeError);
    await assert.rejects(storage.writeAt(key, 0, Readable.from([Buffer.from('x')]), -1), RangeError);
    assert.deepEqual(await keys(storage), [key], 'nothing was created by the refused writes');
  });

  test('durable: createEmpty flushes the folder that holds the new entry (and the folders it made) before it resolves', async () => {
    const directory = join(await folder(), 'store');
    const { flushed, flushOne } = recordedFlushes();
    const storage = new DiskStorage({ directory }, flushOne);
    const { key } = await storage.createEmpty();
    const blobFolder = join(directory, 'blobs', key.slice(0, 2));
    for (const parent of [dirname(directory), directory, join(directory, 'blobs'), blobFolder])
      assert.ok(flushed.includes(parent), `${parent} flushed (flushes: ${flushed.join(', ')})`);
    const count = flushed.length;
    await storage.writeAt(key, 0, Readable.from([Buffer.from('bytes')]));
    assert.equal(flushed.length, count, 'a write into an existing entry needs no folder flush (the file itself is flushed)');
  });

  test('durable: writeAt flushes the file every few MiB while the source still gives bytes, so little is left for the flush at its end', async () => {
    const flushes: Array<{ given: number; inode: number }> = [];
    let given = 0;
    const directory = await folder();
    const storage = new DiskStorage({ directory }, undefined, async (fd) => {
      flushes.push({ given, inode: (await fstat(fd)).ino });
    });
    const { key } = await storage.createEmpty();
    const bytes = randomBytes(8 * MiB);
    const queue = pieces(bytes);
    const source = new Readable({
      read() {
        const next = queue.shift();
        given += next?.byteLength ?? 0;
        this.push(next ?? null);
      },
    });
    assert.equal(await storage.writeAt(key, 0, source), bytes.length);
    const ahead = flushes.filter((flush) => flush.given < bytes.length);
    assert.ok(ahead.length >= 2, `flushed while bytes still came: ${JSON.stringify(flushes)}`);
    const inode = (await stat(join(directory, 'blobs', key.slice(0, 2), key))).ino;
    assert.ok(
      flushes.every((flush) => flush.inode === inode),
      'each flush is of the blob being written',
    );
    assert.equal(sha256(await bytesOf(await storage.read(key))), sha256(bytes));
  });

  test('durable: a flush ahead that fails fails writeAt (the bytes may not be on the device), and a small write needs none', async () => {
    const storage = new DiskStorage({ directory: await folder() }, undefined, () =>
      Promise.reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' })),
    );
    const { key } = await storage.createEmpty();
    await assert.rejects(storage.writeAt(key, 0, Readable.from(pieces(randomBytes(8 * MiB)))), { code: 'EIO' });
    assert.equal(
      await storage.writeAt(key, 0, Readable.from([Buffer.from('small')])),
      5,
      'under a few MiB: only the flush at the end',
    );
  });

  test('not durable: no folder flush, and the bytes are there all the same', async () => {
    const directory = join(await folder(), 'store');
    const { flushed, flushOne } = recordedFlushes();
    const ahead: number[] = [];
    const storage = new DiskStorage({ directory, durable: false }, flushOne, async (fd) => void ahead.push(fd));
    const { key } = await storage.createEmpty();
    assert.equal(await storage.writeAt(key, 0, Readable.from([Buffer.from('bytes')])), 5);
    assert.equal((await stat(join(directory, 'blobs', key.slice(0, 2), key))).size, 5);
    assert.deepEqual(flushed, []);
    assert.equal(await storage.writeAt(key, 0, Readable.from(pieces(randomBytes(8 * MiB)))), 8 * MiB);
    assert.deepEqual(ahead, [], 'no flush ahead either');
  });
});
