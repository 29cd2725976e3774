// The sweep's interval against Node's timer limit, with node:test's mocked clock: no waiting.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import { Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { resolveOptions } from '../../src/attachments/attachments.options.js';
import type { AttachmentsSweeper, SweepReport } from '../../src/attachments/index.js';
import { SweepSchedule } from '../../src/attachments/expiry/sweep-schedule.js';

const DAY = 24 * 3600_000;
const MAX_TIMER_DELAY = 2 ** 31 - 1;

/** A schedule whose sweeper only counts its rounds. */
function scheduleEvery(sweepEvery: string | number): { rounds: () => number; registry: SchedulerRegistry } {
  let rounds = 0;
  const report: SweepReport = { outdated: { count: 0, bytes: 0, durationMs: 0 }, orphans: 0, uploads: 0 };
  const sweeper = {
    sweep: () => {
      rounds += 1;
      return Promise.resolve(report);
    },
  } as unknown as AttachmentsSweeper;
  const registry = new SchedulerRegistry();
  new SweepSchedule(sweeper, registry, resolveOptions({ sweepEvery })).onApplicationBootstrap();
  return { rounds: () => rounds, registry };
}

/** Lets a finished round release its "running" flag before the next is due. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('the sweep schedule', () => {
  let registries: SchedulerRegistry[] = [];
  beforeEach(() => {
    Logger.overrideLogger(false);
    mock.timers.enable({ apis: ['setInterval'] });
  });
  afterEach(() => {
    for (const registry of registries) for (const name of registry.getIntervals()) registry.deleteInterval(name);
    registries = [];
    mock.timers.reset();
    Logger.overrideLogger(['log', 'error', 'warn', 'debug', 'verbose', 'fatal']);
  });

  test('sweepEvery 30d (beyond the timer limit) does not sweep in the first ticks, and sweeps once at 30 days', async () => {
    const interval = mock.method(globalThis, 'setInterval');
    const { rounds, registry } = scheduleEvery('30d');
    registries.push(registry);
    const delay = interval.mock.calls[0]?.arguments[1];
    interval.mock.restore();
    assert.ok(typeof delay === 'number' && delay <= MAX_TIMER_DELAY, `the timer holds its delay (${delay})`);
    for (let tick = 0; tick < 10; tick += 1) mock.timers.tick(1);
    await settle();
    assert.equal(rounds(), 0, 'nothing runs in the first ticks');
    mock.timers.tick(MAX_TIMER_DELAY);
    await settle();
    assert.equal(rounds(), 0, 'nothing runs after 24.8 days either');
    mock.timers.tick(30 * DAY - MAX_TIMER_DELAY - 10);
    await settle();
    assert.equal(rounds(), 1, 'one round at 30 days');
    mock.timers.tick(30 * DAY - 1);
    await settle();
    assert.equal(rounds(), 1);
    mock.timers.tick(1);
    await settle();
    assert.equal(rounds(), 2, 'and the next 30 days later');
  });

  test('a short sweepEvery sweeps on every tick, and the interval is in the registry', async () => {
    const { rounds, registry } = scheduleEvery('1s');
    registries.push(registry);
    assert.equal(registry.getIntervals().length, 1);
    mock.timers.tick(999);
    await settle();
    assert.equal(rounds(), 0);
    for (let second = 1; second <= 3; second += 1) {
      mock.timers.tick(second === 1 ? 1 : 1000);
      await settle();
      assert.equal(rounds(), second);
    }
  });
});
