// The running hashes that spare a tus finish its re-read live in one process's memory: they must
// stay bounded (a count, an age) and never outlive what they describe. The clock is injected.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { RunningHashes } from '../../src/attachments/resumable/running-hashes.js';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Follows a PATCH of `bytes` at `offset` of `id`, lets it flow to its end, and keeps it as stored. */
async function patch(hashes: RunningHashes, id: string, offset: number, bytes: Buffer, stored = bytes.length): Promise<boolean> {
  const source = Readable.from([bytes], { objectMode: false });
  const followed = hashes.follow(id, offset, source, Number.POSITIVE_INFINITY);
  source.resume();
  await new Promise((ended) => source.once('end', ended));
  hashes.keep(followed, id, stored);
  return followed !== undefined;
}

describe('running hashes of tus uploads', () => {
  test('a PATCH continues the state at its offset; the final one gives the whole file’s sha256', async () => {
    const hashes = new RunningHashes(10, 60_000);
    const file = Buffer.from('the whole file, sent in three PATCHes');
    assert.ok(await patch(hashes, 'u', 0, file.subarray(0, 10)));
    assert.ok(await patch(hashes, 'u', 10, file.subarray(10, 20)));
    const last = Readable.from([file.subarray(20)], { objectMode: false });
    const followed = hashes.follow('u', 20, last, file.length - 20);
    last.resume();
    await new Promise((ended) => last.once('end', ended));
    assert.equal(hashes.digest(followed, file.length - 20, file.length), sha256(file));
  });

  test('keeps at most maxUploads states: the least recently moved goes first', async () => {
    const hashes = new RunningHashes(2, 60_000);
    await patch(hashes, 'a', 0, Buffer.from('aa'));
    await patch(hashes, 'b', 0, Buffer.from('bb'));
    await patch(hashes, 'a', 2, Buffer.from('aa'));
    await patch(hashes, 'c', 0, Buffer.from('cc'));
    assert.equal(hashes.follow('b', 2, Readable.from([]), 1), undefined, 'b, moved least recently, is gone');
    assert.ok(hashes.follow('a', 4, Readable.from([]), 1));
    assert.ok(hashes.follow('c', 2, Readable.from([]), 1));
  });

  test('a state untouched for forgetAfter is gone (its upload has expired), a fresher one stays', async () => {
    let now = 0;
    const hashes = new RunningHashes(10, 60_000, () => now);
    await patch(hashes, 'old', 0, Buffer.from('old'));
    now = 30_000;
    await patch(hashes, 'fresh', 0, Buffer.from('fresh'));
    now = 60_001;
    await patch(hashes, 'other', 0, Buffer.from('other'));
    assert.equal(hashes.follow('old', 3, Readable.from([]), 1), undefined);
    assert.ok(hashes.follow('fresh', 5, Readable.from([]), 1));
  });

  test('no state when the storage stored other than was hashed, after forget, or at another offset', async () => {
    const hashes = new RunningHashes(10, 60_000);
    await patch(hashes, 'short', 0, Buffer.from('four'), 3);
    assert.equal(hashes.follow('short', 3, Readable.from([]), 1), undefined);
    assert.equal(hashes.follow('short', 4, Readable.from([]), 1), undefined);
    await patch(hashes, 'gone', 0, Buffer.from('four'));
    hashes.forget('gone');
    assert.equal(hashes.follow('gone', 4, Readable.from([]), 1), undefined);
    await patch(hashes, 'moved', 0, Buffer.from('four'));
    assert.equal(hashes.follow('moved', 8, Readable.from([]), 1), undefined, 'another instance took a PATCH meanwhile');
  });
});
