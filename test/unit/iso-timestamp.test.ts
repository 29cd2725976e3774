import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { describe, test } from 'node:test';
import { isoTimestamp } from '../../src/attachments/http/iso-timestamp.js';

describe('isoTimestamp', () => {
  test('gives what toISOString gives, at the edges of days, years and the supported range', () => {
    const edges = [
      0, -1, 1, 999, 1000, 86_399_999, 86_400_000, -86_400_001, 951_782_400_000, 253_402_300_799_999, 253_402_300_800_000,
    ];
    edges.push(-62_167_219_200_001, 8.64e15, -8.64e15, Date.UTC(2026, 10, 25, 23, 59, 59, 999));
    for (const ms of edges) assert.equal(isoTimestamp(ms), new Date(ms).toISOString(), String(ms));
  });

  test('gives what toISOString gives for 100,000 random times, in and out of order', () => {
    for (let index = 0; index < 100_000; index += 1) {
      const ms = randomInt(-(2 ** 46), 2 ** 46);
      assert.equal(isoTimestamp(ms), new Date(ms).toISOString());
      assert.equal(isoTimestamp(ms + 1), new Date(ms + 1).toISOString());
    }
  });

  test('refuses an invalid time as toISOString does', () => {
    assert.throws(() => isoTimestamp(Number.NaN), RangeError);
  });
});
