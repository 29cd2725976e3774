import { parseDuration } from '../durations.js';

const DAY = 24 * 60 * 60 * 1000;

/**
 * The command's `--older-than`: a plain number is days, as in the original app
 * (`--older-than=3`); a duration with a unit such as `36h`, `90m` or `2s` also works. In whole
 * milliseconds: the cut-off is compared with a bigint column on PostgreSQL, which refuses a
 * fraction.
 */
export function parseAge(value: string): number {
  const text = value.trim();
  const age = /^\d+(\.\d+)?$/.test(text) ? Number(text) * DAY : parseDuration(text);
  if (age === undefined || !Number.isSafeInteger(Math.round(age))) {
    throw new Error(`--older-than must be a number of days (3) or a duration such as 36h, 90m or 2s; got "${value}"`);
  }
  return Math.round(age);
}
