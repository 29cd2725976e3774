import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, openSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, test } from 'node:test';
import { Readable } from 'node:stream';
import { startEarlyWriteback } from '../../src/attachments/storage/early-writeback.js';

const KiB = 1024;

async function* chunks(count: number, size: number, failAt?: number) {
  for (let index = 0; index < count; index += 1) {
    if (index === failAt) throw new Error('client went away');
    yield randomBytes(size);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('early writeback of big files', () => {
  let folder: string;
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), 'early-writeback-'));
  });
  after(() => rm(folder, { recursive: true, force: true }));

  test('flushes every `every` bytes while writing, one flush at a time, and the file is whole', async () => {
    const path = join(folder, 'big');
    const fd = openSync(path, 'wx');
    const target = createWriteStream(path, { fd });
    const flushes: number[] = [];
    let running = 0;
    const source = chunks(40, 64 * KiB);
    const sent = createHash('sha256');
    async function* recorded() {
      for await (const chunk of source) {
        sent.update(chunk);
        yield chunk;
      }
    }
    const bytes = Readable.from(recorded(), { objectMode: false });
    const writeback = startEarlyWriteback(bytes, fd, 256 * KiB, (flushed, done) => {
      running += 1;
      assert.equal(running, 1, 'never two flushes at once');
      flushes.push(flushed);
      setImmediate(() => {
        running -= 1;
        done();
      });
    });
    await pipeline(bytes, target);
    await writeback.settled();
    // At most one per 256 KiB (10); fewer if a flush was still running when the next was due.
    assert.ok(flushes.length >= 4 && flushes.length <= 10, `${flushes.length} flushes for 2.5 MiB every 256 KiB`);
    assert.ok(
      flushes.every((flushed) => flushed === fd),
      'every flush is of the file being written',
    );
    assert.equal(running, 0, 'the last flush has settled once settled() resolves');
    assert.equal(
      createHash('sha256')
        .update(await readFile(path))
        .digest('hex'),
      sent.digest('hex'),
    );
  });

  test('a file smaller than `every` is never flushed early', async () => {
    const path = join(folder, 'small');
    const fd = openSync(path, 'wx');
    const target = createWriteStream(path, { fd });
    let flushes = 0;
    const bytes = Readable.from(chunks(3, 64 * KiB), { objectMode: false });
    startEarlyWriteback(bytes, fd, 256 * KiB, (_fd, done) => {
      flushes += 1;
      done();
    });
    await pipeline(bytes, target);
    assert.equal(flushes, 0);
  });

  test('a source that fails mid-way fails the write, with the real fdatasync running', async () => {
    const path = join(folder, 'broken');
    const fd = openSync(path, 'wx');
    const target = createWriteStream(path, { fd });
    const bytes = Readable.from(chunks(20, 64 * KiB, 12), { objectMode: false });
    const writeback = startEarlyWriteback(bytes, fd, 128 * KiB);
    await assert.rejects(pipeline(bytes, target), /client went away/);
    await writeback.settled();
    assert.ok(target.destroyed);
  });
});
