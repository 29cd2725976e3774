import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FolderFlusher } from '../../src/attachments/storage/folder-flusher.js';

/** A flush that is held open until released, recording when each one started. */
function controlledFlushes() {
  const started: Array<{ folder: string; finish: (error?: Error) => void }> = [];
  const flushOne = (folder: string) =>
    new Promise<void>((resolve, reject) => started.push({ folder, finish: (error) => (error ? reject(error) : resolve()) }));
  return { started, flushOne };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('folder flushes (group commit)', () => {
  test('a call while a flush runs waits for the next one, which all such calls share', async () => {
    const { started, flushOne } = controlledFlushes();
    const flusher = new FolderFlusher(flushOne);
    const done: string[] = [];
    const first = flusher.flush('a').then(() => done.push('first'));
    const later = [1, 2, 3].map((n) => flusher.flush('a').then(() => done.push(`later ${n}`)));
    await settle();
    assert.equal(started.length, 1, 'the later calls do not start flushes of their own');
    started[0]!.finish();
    await first;
    await settle();
    assert.deepEqual(done, ['first'], 'the first flush may predate the later entries: they keep waiting');
    assert.equal(started.length, 2, 'one more flush, shared by the three');
    started[1]!.finish();
    await Promise.all(later);
    assert.deepEqual(done.slice(1).sort(), ['later 1', 'later 2', 'later 3']);
    assert.equal(started.length, 2);
  });

  test('folders are flushed independently', async () => {
    const { started, flushOne } = controlledFlushes();
    const flusher = new FolderFlusher(flushOne);
    const calls = [flusher.flush('a'), flusher.flush('b')];
    await settle();
    assert.deepEqual(
      started.map((flush) => flush.folder),
      ['a', 'b'],
    );
    for (const flush of started) flush.finish();
    await Promise.all(calls);
  });

  test('a failed flush fails its callers, and the next call starts afresh', async () => {
    const { started, flushOne } = controlledFlushes();
    const flusher = new FolderFlusher(flushOne);
    const failing = flusher.flush('a');
    await settle();
    started[0]!.finish(new Error('EIO'));
    await assert.rejects(failing, /EIO/);
    const next = flusher.flush('a');
    await settle();
    assert.equal(started.length, 2);
    started[1]!.finish();
    await next;
  });

  test('the real flush fsyncs an existing folder and fails for a missing one', async () => {
    const flusher = new FolderFlusher();
    await flusher.flush(import.meta.dirname);
    await assert.rejects(flusher.flush(`${import.meta.dirname}/no-such-folder`), { code: 'ENOENT' });
  });
});
