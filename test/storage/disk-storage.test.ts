import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { DiskStorage } from '../../src/attachments/index.js';
import { storageContract } from './contract.js';

const folder = () => mkdtemp(join(tmpdir(), 'attachments-disk-'));

async function readAll(stream: Readable): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text;
}

/** A folder flush that records which folders were flushed, and can hold one until released. */
function recordedFlushes(held?: string) {
  const flushed: string[] = [];
  let release = () => {};
  let heldStarted = () => {};
  const started = new Promise<void>((resolve) => (heldStarted = resolve));
  const flushOne = async (path: string) => {
    flushed.push(path);
    if (path !== held) return;
    heldStarted();
    await new Promise<void>((resolve) => (release = resolve));
  };
  return { flushed, flushOne, heldFlushStarted: started, release: () => release() };
}

describe('DiskStorage', () => {
  storageContract(async () => new DiskStorage({ directory: await folder() }));

  test('lists leftover temporary files so the orphan sweep can remove them', async () => {
    const directory = await folder();
    const storage = new DiskStorage({ directory });
    await mkdir(join(directory, 'tmp'), { recursive: true });
    const leftover = `${'a'.repeat(32)}.part`;
    await writeFile(join(directory, 'tmp', leftover), 'half');
    const listed: string[] = [];
    for await (const object of storage.list()) listed.push(object.key);
    assert.deepEqual(listed, [leftover]);
    await storage.delete(leftover);
    assert.deepEqual(await readdir(join(directory, 'tmp')), []);
  });

  test('deleteMany answers a key whose unlink failed (not ENOENT), deletes the rest, and removes temporary files too', async () => {
    const directory = await folder();
    const storage = new DiskStorage({ directory });
    const plain = await storage.write(Readable.from([Buffer.from('plain')]));
    // A folder where a blob's file would be: unlink fails with EISDIR (even for root).
    const stuck = 'b'.repeat(32);
    await mkdir(join(directory, 'blobs', 'bb', stuck, 'inside'), { recursive: true });
    await mkdir(join(directory, 'tmp'), { recursive: true });
    const leftover = `${'c'.repeat(32)}.part`;
    await writeFile(join(directory, 'tmp', leftover), 'half');
    assert.deepEqual(await storage.deleteMany([plain.key, stuck, leftover]), [stuck]);
    assert.ok(!(await readdir(join(directory, 'blobs', plain.key.slice(0, 2)))).includes(plain.key));
    assert.deepEqual(await readdir(join(directory, 'tmp')), []);
    assert.ok((await readdir(join(directory, 'blobs', 'bb'))).includes(stuck));
  });

  test('file names never reach the disk: blobs are stored under random hex keys', async () => {
    const directory = await folder();
    const storage = new DiskStorage({ directory });
    const { key } = await storage.write(Readable.from([Buffer.from('x')]));
    assert.match(key, /^[0-9a-f]{32}$/);
    assert.deepEqual(await readdir(join(directory, 'blobs', key.slice(0, 2))), [key]);
  });

  test('a directory removed while the app runs is made again: the next write succeeds and reads back', async () => {
    const directory = await folder();
    const storage = new DiskStorage({ directory });
    const first = await storage.write(Readable.from([Buffer.from('before')]));
    assert.equal(await readAll(await storage.read(first.key)), 'before');
    await rm(directory, { recursive: true });
    const second = await storage.write(Readable.from([Buffer.from('after')]));
    assert.equal(await readAll(await storage.read(second.key)), 'after');
    const third = await storage.write(Readable.from([Buffer.from('and again')]));
    assert.equal(await readAll(await storage.read(third.key)), 'and again');
  });

  test('a removed blobs folder alone is made again too', async () => {
    const directory = await folder();
    const storage = new DiskStorage({ directory });
    await storage.write(Readable.from([Buffer.from('before')]));
    await rm(join(directory, 'blobs'), { recursive: true });
    const { key } = await storage.write(Readable.from([Buffer.from('after')]));
    assert.equal(await readAll(await storage.read(key)), 'after');
  });

  test('durable: every folder it creates has its entry flushed in its parent before the write resolves', async () => {
    const directory = join(await folder(), 'store');
    const blobs = join(directory, 'blobs');
    const { flushed, flushOne, heldFlushStarted, release } = recordedFlushes(blobs);
    const storage = new DiskStorage({ directory }, flushOne);
    let resolved = false;
    const writing = storage.write(Readable.from([Buffer.from('x')])).then((written) => {
      resolved = true;
      return written;
    });
    await heldFlushStarted;
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(resolved, false, 'the write waits for the flush of blobs/, which holds its new folder');
    release();
    const { key } = await writing;
    const blobFolder = join(blobs, key.slice(0, 2));
    for (const parent of [dirname(directory), directory, blobs, blobFolder])
      assert.ok(flushed.includes(parent), `${parent} flushed (flushes: ${flushed.join(', ')})`);
  });

  test('durable: a parent is flushed once per new folder, not on every write', async () => {
    const directory = join(await folder(), 'store');
    const { flushed, flushOne } = recordedFlushes();
    const storage = new DiskStorage({ directory }, flushOne);
    await storage.write(Readable.from([Buffer.from('first')]));
    const afterFirst = flushed.length;
    assert.equal(flushed.filter((path) => path === dirname(directory)).length, 1, 'the new directory, once');
    await storage.write(Readable.from([Buffer.from('second')]));
    const later = flushed.slice(afterFirst);
    // Only the blob folder itself (its new file), and blobs/ if the second key opened a new folder.
    assert.ok(
      later.every((path) => dirname(path) === join(directory, 'blobs') || path === join(directory, 'blobs')),
      later.join(', '),
    );
  });

  test('not durable: no folder is flushed', async () => {
    const directory = join(await folder(), 'store');
    const { flushed, flushOne } = recordedFlushes();
    const storage = new DiskStorage({ directory, durable: false }, flushOne);
    const { key } = await storage.write(Readable.from([Buffer.from('x')]));
    assert.equal(await readAll(await storage.read(key)), 'x');
    assert.deepEqual(flushed, []);
  });
});
