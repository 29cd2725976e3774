import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { DiskStorage } from '../../src/attachments/index.js';
import { storageContract } from './contract.js';

const folder = () => mkdtemp(join(tmpdir(), 'attachments-disk-'));

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

  test('file names never reach the disk: blobs are stored under random hex keys', async () => {
    const directory = await folder();
    const storage = new DiskStorage({ directory });
    const { key } = await storage.write(Readable.from([Buffer.from('x')]));
    assert.match(key, /^[0-9a-f]{32}$/);
    assert.deepEqual(await readdir(join(directory, 'blobs', key.slice(0, 2))), [key]);
  });
});
