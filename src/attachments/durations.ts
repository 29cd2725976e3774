import bytes from 'bytes';
import ms from 'ms';

/**
 * Durations and sizes as people write them (`15m`, `36h`, `50MB`) or as plain numbers
 * (milliseconds, bytes), read by a strict grammar of our own. The `ms` and `bytes` packages
 * guess: `bytes.parse('20M')` is 20 bytes, `'5 MiB'` 5 bytes, `'1e3'` 1 byte, and `ms('3')`
 * is 3 ms where a person setting an environment variable may mean 3 days. Each function returns
 * undefined for anything outside the grammar, so callers can name the option or argument.
 */

/** The longest delay Node's timers hold (2^31 - 1 ms, about 24.8 days); longer ones fire at once. */
export const MAX_TIMER_DELAY = 2 ** 31 - 1;

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The `ms` package's spellings, case-insensitive; a year is 365.25 days, as there. */
const DURATION_UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  msec: 1,
  msecs: 1,
  millisecond: 1,
  milliseconds: 1,
  s: SECOND,
  sec: SECOND,
  secs: SECOND,
  second: SECOND,
  seconds: SECOND,
  m: MINUTE,
  min: MINUTE,
  mins: MINUTE,
  minute: MINUTE,
  minutes: MINUTE,
  h: HOUR,
  hr: HOUR,
  hrs: HOUR,
  hour: HOUR,
  hours: HOUR,
  d: DAY,
  day: DAY,
  days: DAY,
  w: 7 * DAY,
  week: 7 * DAY,
  weeks: 7 * DAY,
  y: 365.25 * DAY,
  yr: 365.25 * DAY,
  yrs: 365.25 * DAY,
  year: 365.25 * DAY,
  years: 365.25 * DAY,
};

/** Binary multiples, as the `bytes` package counts them (1 kb = 1024 bytes); KiB… are aliases. */
const SIZE_UNITS: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1024,
  mb: 1024 ** 2,
  gb: 1024 ** 3,
  tb: 1024 ** 4,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

/** A decimal number, an optional space, a unit: `15m`, `1.5 h`, `50MB`. No signs, no exponents. */
const WITH_UNIT = /^(\d+(?:\.\d+)?) ?([a-z]+)$/i;
const DIGITS = /^\d+$/;

/**
 * Whole milliseconds from a number (finite, >= 0), or from a string with a unit (`90s`, `15m`,
 * `36h`, `3d`, `2w`), rounded. A string without a unit is refused: `"3"` could mean
 * milliseconds or days. Numbers are rounded too (`ms('1d') / 7`): the sweep compares cut-offs
 * made of them with integer columns, which PostgreSQL refuses a fraction for.
 */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return value >= 0 ? safe(Math.round(value)) : undefined;
  const parsed = withUnit(value, DURATION_UNITS);
  return parsed === undefined ? undefined : safe(Math.round(parsed));
}

/**
 * Bytes from a whole number (a safe integer >= 0, or a string of digits), or from a number with
 * a unit (`512kb`, `50MB`, `1.5 GiB`), rounded down to a whole byte.
 */
export function parseByteSize(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value === 'string' && DIGITS.test(value.trim())) return safe(Number(value.trim()));
  const parsed = withUnit(value, SIZE_UNITS);
  return parsed === undefined ? undefined : safe(Math.floor(parsed));
}

function withUnit(value: unknown, units: Readonly<Record<string, number>>): number | undefined {
  if (typeof value !== 'string') return undefined;
  const match = WITH_UNIT.exec(value.trim());
  const unit = match && Object.hasOwn(units, match[2]!.toLowerCase()) ? units[match[2]!.toLowerCase()] : undefined;
  return unit === undefined ? undefined : Number(match![1]) * unit;
}

function safe(value: number): number | undefined {
  return Number.isSafeInteger(value) ? value : undefined;
}

export function formatDuration(milliseconds: number): string {
  return ms(Math.round(milliseconds), { long: false });
}

export function formatBytes(size: number): string {
  return bytes.format(size, { unitSeparator: ' ' }) ?? `${size} B`;
}
