// The preview turns' waiting has bounds: a waiter gets its turn in arrival order, or gives up
// after the wait allowed (`TurnWaitExpired`), or leaves at once when its signal aborts; one
// that leaves takes no turn with it. Time is moved by node's fake timers, never waited for.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import { Turns, TurnWaitExpired } from '../../src/attachments/previews/turns.js';

/** Work that runs until the test ends it. */
function heldWork() {
  let end!: () => void;
  const ended = new Promise<void>((resolve) => (end = resolve));
  let started = false;
  return {
    work: async () => {
      started = true;
      await ended;
    },
    end: () => end(),
    started: () => started,
  };
}

/** Lets every settled promise run its callbacks. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('preview turns', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  test('a waiter that gets no turn within the wait allowed gives up; the turn goes to the next', async () => {
    const turns = new Turns(1, 10_000);
    const first = heldWork();
    const running = turns.run(first.work);
    const late = turns.run(async () => 'late');
    const outcome = late.then(
      () => 'ran',
      (error: unknown) => error,
    );
    mock.timers.tick(9_999);
    await settle();
    assert.equal(turns.waiting, 1, 'still waiting before its time is up');
    mock.timers.tick(1);
    const error = await outcome;
    assert.ok(error instanceof TurnWaitExpired, `gave up with ${String(error)}`);
    assert.equal(error.waitedMs, 10_000);
    assert.equal(turns.waiting, 0);
    // The turn it never took is still there for the next one.
    const next = turns.run(async () => 'next');
    first.end();
    await running;
    assert.equal(await next, 'next');
  });

  test('a waiter whose signal aborts leaves at once with its reason, and takes no turn', async () => {
    const turns = new Turns(1, 10_000);
    const first = heldWork();
    const running = turns.run(first.work);
    const client = new AbortController();
    const leaving = turns.run(async () => 'never', client.signal);
    const after = turns.run(async () => 'after');
    assert.equal(turns.waiting, 2);
    client.abort(new Error('client gone'));
    await assert.rejects(leaving, /client gone/);
    assert.equal(turns.waiting, 1, 'left the queue without any time passing');
    first.end();
    await running;
    assert.equal(await after, 'after', 'the turn went to the one behind it');
  });

  test('a signal aborted already takes no turn at all', async () => {
    const turns = new Turns(1, 10_000);
    const gone = AbortSignal.abort(new Error('gone before'));
    await assert.rejects(
      turns.run(async () => 'never', gone),
      /gone before/,
    );
    assert.equal(await turns.run(async () => 'free'), 'free', 'the one turn is still free');
  });

  test('turns go in arrival order, at most `limit` at once', async () => {
    const turns = new Turns(2, 10_000);
    const works = [heldWork(), heldWork(), heldWork(), heldWork()];
    const runs = works.map((held) => turns.run(held.work));
    await settle();
    assert.deepEqual(
      works.map((held) => held.started()),
      [true, true, false, false],
    );
    works[1]!.end();
    await settle();
    assert.deepEqual(
      works.map((held) => held.started()),
      [true, true, true, false],
    );
    for (const held of works) held.end();
    await Promise.all(runs);
    assert.equal(turns.waiting, 0);
  });
});
