// The behaviour every AttachmentStorage must have: one suite, imported by each storage's tests.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import type { AttachmentStorage } from '../../src/attachments/index.js';

async function readAll(stream: Readable): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text;
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

  test('keys that are not the storage own are refused, never turned into paths', async () => {
    const storage = await create();
    for (const key of ['../../etc/passwd', '/etc/passwd', 'a/b', '']) {
      await assert.rejects(storage.read(key));
      await assert.rejects(storage.delete(key));
    }
  });
}
