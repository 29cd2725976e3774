// The behaviour every AttachmentStorage must have: one suite, imported by each storage's tests.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import type { AttachmentStorage } from '../../src/attachments/index.js';
import { supportsBulkDeletes } from '../../src/attachments/storage/attachment-storage.js';

async function readAll(stream: Readable): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text;
}

/** The sha256 and length of what a stream gives, without holding it. */
async function digest(stream: Readable): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.byteLength;
  }
  return { sha256: hash.digest('hex'), size };
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** `bytes` in pieces of `chunk` bytes, as an upload arrives. */
function chunksOf(bytes: Buffer, chunk = 64 * 1024): Buffer[] {
  const chunks: Buffer[] = [];
  for (let start = 0; start < bytes.length; start += chunk) chunks.push(bytes.subarray(start, start + chunk));
  return chunks;
}

async function keys(storage: AttachmentStorage): Promise<string[]> {
  const found: string[] = [];
  for await (const object of storage.list()) found.push(object.key);
  return found.sort();
}

export function storageContract(create: () => Promise<AttachmentStorage>): void {
  test('write returns a fresh opaque key and read gives the bytes back', async () => {
    const storage = await create();
    const a = await storage.write(Readable.from([Buffer.from('hello '), Buffer.from('world')]));
    const b = await storage.write(Readable.from([Buffer.from('other')]));
    assert.notEqual(a.key, b.key);
    assert.equal(await readAll(await storage.read(a.key)), 'hello world');
    assert.deepEqual(await keys(storage), [a.key, b.key].sort());
  });

  test('read takes an inclusive byte range', async () => {
    const storage = await create();
    const { key } = await storage.write(Readable.from([Buffer.from('0123456789')]));
    assert.equal(await readAll(await storage.read(key, { start: 2, end: 5 })), '2345');
    assert.equal(await readAll(await storage.read(key, { start: 9, end: 9 })), '9');
  });

  test('a failing source leaves nothing behind', async () => {
    const storage = await create();
    async function* failing() {
      yield Buffer.from('partial');
      throw new Error('source broke');
    }
    await assert.rejects(storage.write(failing()), /source broke/);
    assert.deepEqual(await keys(storage), []);
  });

  test('read of an unknown key fails with ENOENT; delete is idempotent', async () => {
    const storage = await create();
    const { key } = await storage.write(Readable.from([Buffer.from('x')]));
    await storage.delete(key);
    await storage.delete(key);
    await assert.rejects(storage.read(key), (error: NodeJS.ErrnoException) => error.code === 'ENOENT');
    assert.deepEqual(await keys(storage), []);
  });

  test('deleteMany, where offered, deletes each key as delete would and answers the keys it could not', async (t) => {
    const storage = await create();
    if (!supportsBulkDeletes(storage)) return t.diagnostic('this storage has no deleteMany');
    const written = await Promise.all(
      Array.from({ length: 30 }, (_, n) => storage.write(Readable.from([Buffer.from(`file ${n}`)]))),
    );
    const kept = await storage.write(Readable.from([Buffer.from('kept')]));
    const doomed = written.map(({ key }) => key);
    // An unknown key is deleted already; keys not of its own shape are never deleted.
    const unknown = doomed[0]!.replace(/^./, (first) => (first === '0' ? '1' : '0'));
    const foreign = ['../../etc/passwd', 'a/b', ''];
    assert.deepEqual((await storage.deleteMany([...doomed, unknown, ...foreign])).sort(), [...foreign].sort());
    assert.deepEqual(await keys(storage), [kept.key]);
    assert.equal(await readAll(await storage.read(kept.key)), 'kept');
    assert.deepEqual(await storage.deleteMany(doomed), [], 'deleting again succeeds');
    assert.deepEqual(await storage.deleteMany([]), []);
  });

  test('keys that are not the storage own are refused, never turned into paths', async () => {
    const storage = await create();
    for (const key of ['../../etc/passwd', '/etc/passwd', 'a/b', '']) {
      await assert.rejects(storage.read(key));
      await assert.rejects(storage.delete(key));
    }
  });

  test('random bytes come back identical, checked by sha256', async () => {
    const storage = await create();
    const bytes = randomBytes(300 * 1024 + 7);
    const { key } = await storage.write(Readable.from(chunksOf(bytes, 16 * 1024 + 3)));
    assert.deepEqual(await digest(await storage.read(key)), { sha256: sha256(bytes), size: bytes.length });
  });

  test('an empty source stores an empty object', async () => {
    const storage = await create();
    const { key } = await storage.write(Readable.from([]));
    assert.deepEqual(await digest(await storage.read(key)), { sha256: sha256(Buffer.alloc(0)), size: 0 });
    assert.deepEqual(await keys(storage), [key]);
  });

  test('a 12 MiB write (several parts wherever the store has parts) round-trips, and ranges near its end read right', async () => {
    const storage = await create();
    const bytes = randomBytes(12 * 1024 * 1024);
    const { key } = await storage.write(Readable.from(chunksOf(bytes)));
    assert.deepEqual(await digest(await storage.read(key)), { sha256: sha256(bytes), size: bytes.length });
    const last = bytes.length - 1;
    for (const [start, end] of [
      [last, last],
      [last - 4, last],
      [5 * 1024 * 1024 - 3, 5 * 1024 * 1024 + 2],
      [0, last],
    ] as const) {
      const read = await digest(await storage.read(key, { start, end }));
      assert.deepEqual(read, { sha256: sha256(bytes.subarray(start, end + 1)), size: end - start + 1 }, `bytes ${start}-${end}`);
    }
  });

  test('a source that fails after megabytes rejects with its own error and leaves nothing behind', async () => {
    const storage = await create();
    const broken = new Error('connection cut');
    async function* cutOff() {
      yield* chunksOf(randomBytes(11 * 1024 * 1024));
      throw broken;
    }
    await assert.rejects(storage.write(cutOff()), (error) => error === broken);
    assert.deepEqual(await keys(storage), []);
  });
}
