// Concurrent first requests for one preview share one run: a request whose client goes is
// answered at once and leaves the run to the others; only when the last one has gone does the
// run's own signal abort (so that it stops waiting for a turn nobody needs).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SharedRuns } from '../../src/attachments/previews/shared-runs.js';

/** A run that ends when the test says, remembering the signal it was given. */
function heldRun() {
  const control = {
    starts: 0,
    signal: undefined as AbortSignal | undefined,
    finish: (_value: string) => undefined as void,
    start: (signal: AbortSignal) => {
      control.starts += 1;
      control.signal = signal;
      return new Promise<string>((resolve, reject) => {
        control.finish = resolve;
        signal.addEventListener('abort', () => reject(signal.reason as Error));
      });
    },
  };
  return control;
}

describe('shared runs', () => {
  test('callers of one key share a run; one leaving does not abort it, the last one does', async () => {
    const runs = new SharedRuns<string>();
    const run = heldRun();
    const clients = [new AbortController(), new AbortController()];
    const [first, second] = clients.map((client) => runs.join('photo:256', run.start, client.signal));
    assert.equal(run.starts, 1);
    clients[0]!.abort(new Error('first gone'));
    await assert.rejects(first!, /first gone/);
    assert.equal(run.signal!.aborted, false, 'the other caller still waits');
    clients[1]!.abort(new Error('second gone'));
    await assert.rejects(second!, /second gone/);
    assert.equal(run.signal!.aborted, true, 'nobody waits any more');
  });

  test('a caller without a signal keeps the run; a newcomer after an abandoned run starts afresh', async () => {
    const runs = new SharedRuns<string>();
    const abandoned = heldRun();
    const client = new AbortController();
    const leaving = runs.join('a', abandoned.start, client.signal);
    client.abort(new Error('gone'));
    await assert.rejects(leaving, /gone/);
    const fresh = heldRun();
    const staying = runs.join('a', fresh.start);
    assert.equal(fresh.starts, 1, 'not joined to the abandoned run');
    fresh.finish('made');
    assert.equal(await staying, 'made');
  });
});
