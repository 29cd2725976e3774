import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_OPTIONS, resolveOptions, resolvePath } from '../../src/attachments/attachments.options.js';
import { parseAge } from '../../src/attachments/expiry/age.js';
import { DiskStorage, InvalidAttachmentsOptionError } from '../../src/attachments/index.js';
import { demoConfigFromEnv } from '../../src/demo-config.js';

const KB = 1024;
const MB = 1024 * KB;
const GB = 1024 * MB;
const DAY = 24 * 3600_000;
const MAX_TIMER_DELAY = 2 ** 31 - 1;

/** Asserts that `options` stop the app with the option's name in the message. */
function refuses(options: Parameters<typeof resolveOptions>[0], option: string): void {
  assert.throws(
    () => resolveOptions(options),
    (error: unknown) => error instanceof InvalidAttachmentsOptionError && error.message.includes(`option "${option}" must be`),
    `${JSON.stringify(options)} is refused naming ${option}`,
  );
}

describe('module options', () => {
  test('defaults are merged once', () => {
    const options = resolveOptions();
    assert.equal(options.limits.fileSize, 50 * 1024 * 1024);
    assert.equal(options.limits.filesPerRequest, 20);
    assert.equal(options.expireAfter, 24 * 3600_000);
    assert.equal(options.sweepEvery, 15 * 60_000);
    // The README's figure: 5,000 rows per sweep statement (about 30 ms among a million rows).
    assert.equal(options.sweepBatchSize, 5000);
  });

  test('sizes and durations accept numbers and strings', () => {
    const options = resolveOptions({ limits: { fileSize: '2MB' }, expireAfter: '36h', sweepEvery: 5000 });
    assert.equal(options.limits.fileSize, 2 * 1024 * 1024);
    assert.equal(options.expireAfter, 36 * 3600_000);
    assert.equal(options.sweepEvery, 5000);
    assert.equal(resolveOptions({ sweepEvery: false }).sweepEvery, false);
  });

  test('a bad option fails with a message naming it', () => {
    assert.throws(() => resolveOptions({ limits: { fileSize: 'huge' } }), /option "limits\.fileSize" must be a size/);
    assert.throws(
      () => resolveOptions({ limits: { filesPerRequest: 0 } }),
      /option "limits\.filesPerRequest" must be a whole number >= 1; got 0/,
    );
    assert.throws(() => resolveOptions({ expireAfter: 'soon' }), /option "expireAfter" must be a duration/);
    assert.throws(() => resolveOptions({ storage: {} as DiskStorage }), /option "storage" must be an AttachmentStorage/);
    assert.throws(() => resolvePath('../x'), /option "path"/);
  });

  test('a custom storage is accepted and the path is trimmed', () => {
    const storage = new DiskStorage({ directory: 'var/x' });
    assert.equal(resolveOptions({ storage }).storage, storage);
    assert.equal(resolvePath('/api/uploads/'), 'api/uploads');
  });
});

describe('sizes', () => {
  test('whole numbers of bytes: a safe integer, or a string of digits', () => {
    assert.equal(resolveOptions({ limits: { fileSize: 2048 } }).limits.fileSize, 2048);
    assert.equal(resolveOptions({ limits: { fileSize: '2048' } }).limits.fileSize, 2048);
    assert.equal(resolveOptions({ limits: { fieldSize: 0 } }).limits.fieldSize, 0);
  });

  test("the README's units, binary, any case, an optional space, KiB… as aliases", () => {
    const cases: Array<[string, number]> = [
      ['10b', 10],
      ['512kb', 512 * KB],
      ['50MB', 50 * MB],
      ['20 mb', 20 * MB],
      ['1GB', GB],
      ['2tb', 2 * 1024 * GB],
      ['5 MiB', 5 * MB],
      ['64KiB', 64 * KB],
      ['1 GiB', GB],
      ['1.5MB', 1.5 * MB],
      ['1.1kb', 1126],
    ];
    for (const [text, expected] of cases) {
      assert.equal(resolveOptions({ limits: { fileSize: text } }).limits.fileSize, expected, text);
    }
  });

  test('anything else stops the app, naming the option', () => {
    for (const fileSize of [
      '20M',
      '5 M',
      '1e3',
      '1k',
      'huge',
      '',
      ' ',
      '-5MB',
      '1.5',
      '5  MB',
      '5MBs',
      'MB',
      '0x10',
      1.5,
      -1,
      NaN,
      Infinity,
      2 ** 53,
    ]) {
      refuses({ limits: { fileSize } }, 'limits.fileSize');
    }
    refuses({ limits: { bytesPerSession: '500 megabytes' } }, 'limits.bytesPerSession');
    refuses({ limits: { fieldSize: '64k' } }, 'limits.fieldSize');
    assert.throws(() => resolveOptions({ limits: { fileSize: '20M' } }), /"20M"/);
  });
});

describe('durations', () => {
  test("a number is milliseconds; a string carries one of the ms package's units", () => {
    const cases: Array<[string, number]> = [
      ['250ms', 250],
      ['90s', 90_000],
      ['90 s', 90_000],
      ['15m', 15 * 60_000],
      ['15 minutes', 15 * 60_000],
      ['1.5h', 90 * 60_000],
      ['36H', 36 * 3600_000],
      ['3d', 3 * DAY],
      ['2 days', 2 * DAY],
      ['1w', 7 * DAY],
    ];
    for (const [text, expected] of cases) assert.equal(resolveOptions({ expireAfter: text }).expireAfter, expected, text);
    assert.equal(resolveOptions({ expireAfter: 3 }).expireAfter, 3);
  });

  test('a number with a fraction is rounded to whole milliseconds, one beyond a safe integer refused', () => {
    assert.equal(resolveOptions({ expireAfter: DAY / 7 }).expireAfter, Math.round(DAY / 7));
    assert.equal(resolveOptions({ uploadTimeout: 1000.5 }).uploadTimeout, 1001);
    refuses({ expireAfter: 1e300 }, 'expireAfter');
  });

  test('a string without a unit, garbage, negative, NaN and Infinity stop the app, naming the option', () => {
    for (const expireAfter of ['3', '3.5', '15 minutes later', 'soon', '', '-3d', '-1', '1e3s', '3 d s', NaN, Infinity, -1]) {
      refuses({ expireAfter }, 'expireAfter');
    }
    assert.throws(() => resolveOptions({ expireAfter: '3' }), /without a unit is refused/);
    refuses({ sweepEvery: '15' }, 'sweepEvery');
    refuses({ uploadIdleTimeout: 'forever' }, 'uploadIdleTimeout');
  });

  test("upload timeouts longer than Node's timers can hold stop the app, naming the option", () => {
    assert.equal(resolveOptions({ uploadIdleTimeout: MAX_TIMER_DELAY }).uploadIdleTimeout, MAX_TIMER_DELAY);
    refuses({ uploadIdleTimeout: MAX_TIMER_DELAY + 1 }, 'uploadIdleTimeout');
    refuses({ uploadIdleTimeout: '25d' }, 'uploadIdleTimeout');
    refuses({ uploadTimeout: '30d', orphanGracePeriod: '60d' }, 'uploadTimeout');
    assert.throws(() => resolveOptions({ uploadTimeout: '30d' }), /at most 2147483647 ms/);
  });

  test('sweepEvery "false" (a string, as an environment variable gives it) is refused, saying that false is the boolean', () => {
    assert.throws(
      () => resolveOptions({ sweepEvery: 'false' }),
      /option "sweepEvery" must be false \(the boolean: no sweep\) or a duration >= 100 ms: .*; got "false"/,
    );
  });

  test('a sweepEvery beyond the timer limit is accepted (the schedule counts steps)', () => {
    assert.equal(resolveOptions({ sweepEvery: '30d' }).sweepEvery, 30 * DAY);
  });
});

describe('orphanGracePeriod and uploadTimeout', () => {
  test('the grace period must be longer than the upload timeout: the message names both', () => {
    for (const [uploadTimeout, orphanGracePeriod] of [
      ['1h', '1h'],
      ['2h', '1h'],
      ['10m', 600_000],
    ] as const) {
      assert.throws(
        () => resolveOptions({ uploadTimeout, orphanGracePeriod }),
        (error: unknown) =>
          error instanceof InvalidAttachmentsOptionError &&
          /option "orphanGracePeriod" must be longer than option "uploadTimeout"/.test(error.message),
      );
    }
    refuses({ uploadTimeout: '3h' }, 'orphanGracePeriod');
  });

  test('the defaults satisfy it: 2h of grace against a 1h upload timeout', () => {
    assert.equal(DEFAULT_OPTIONS.orphanGracePeriod, '2h');
    const options = resolveOptions();
    assert.equal(options.orphanGracePeriod, 2 * 3600_000);
    assert.ok(options.orphanGracePeriod > options.uploadTimeout);
    assert.equal(resolveOptions({ uploadTimeout: '90m' }).uploadTimeout, 90 * 60_000);
  });
});

describe('options given as undefined', () => {
  test('take their defaults, in limits and at the top level', () => {
    const defaults = resolveOptions();
    const undefinedLimits = Object.fromEntries(Object.keys(DEFAULT_OPTIONS.limits).map((key) => [key, undefined]));
    assert.deepEqual(resolveOptions({ limits: { fileSize: undefined } }), defaults);
    assert.deepEqual(
      resolveOptions({
        storage: undefined,
        limits: undefinedLimits,
        allowedTypes: undefined,
        trustedOrigins: undefined,
        uploadIdleTimeout: undefined,
        uploadTimeout: undefined,
        expireAfter: undefined,
        sweepEvery: undefined,
        orphanGracePeriod: undefined,
        sweepBatchSize: undefined,
      }),
      defaults,
    );
    assert.deepEqual(resolveOptions({ limits: undefined }), defaults);
  });
});

describe("the demo's environment", () => {
  const env = (values: Record<string, string>) => ({ DATABASE_PATH: 'var/test-config.sqlite', ...values });

  test('durations with a unit reach the module; unset ones stay undefined (the default)', () => {
    const config = demoConfigFromEnv(env({ ATTACHMENTS_EXPIRE_AFTER: '3d', ATTACHMENTS_SWEEP_EVERY: '90s' }));
    assert.equal(config.expireAfter, '3d');
    assert.equal(config.sweepEvery, '90s');
    const unset = demoConfigFromEnv(env({}));
    assert.equal(unset.expireAfter, undefined);
    assert.equal(unset.sweepEvery, undefined);
  });

  test('ATTACHMENTS_INLINE_MAX_SIZE reaches the module as written; garbage stops the demo, naming it', () => {
    assert.equal(demoConfigFromEnv(env({ ATTACHMENTS_INLINE_MAX_SIZE: '0' })).inlineMaxSize, '0');
    assert.equal(demoConfigFromEnv(env({ ATTACHMENTS_INLINE_MAX_SIZE: '16kb' })).inlineMaxSize, '16kb');
    assert.equal(demoConfigFromEnv(env({})).inlineMaxSize, undefined);
    for (const value of ['16k', '-1', 'big']) {
      assert.throws(
        () => demoConfigFromEnv(env({ ATTACHMENTS_INLINE_MAX_SIZE: value })),
        /^Error: ATTACHMENTS_INLINE_MAX_SIZE must be a size such as 0, 16kb or 64kb/,
        value,
      );
    }
  });

  test('a bare number (3 ms? 3 days?) or garbage stops the demo, naming the variable', () => {
    for (const variable of ['ATTACHMENTS_EXPIRE_AFTER', 'ATTACHMENTS_SWEEP_EVERY']) {
      for (const value of ['3', '15 minutes later', '-1d']) {
        assert.throws(
          () => demoConfigFromEnv(env({ [variable]: value })),
          new RegExp(`^Error: ${variable} must be a duration with a unit, such as 90s, 15m, 36h or 3d`),
          `${variable}=${value}`,
        );
      }
    }
  });
});

describe('--older-than', () => {
  test('a plain number is days, as in the original', () => {
    assert.equal(parseAge('3'), 3 * 24 * 3600_000);
    assert.equal(parseAge('0.5'), 12 * 3600_000);
  });

  test('durations work too', () => {
    assert.equal(parseAge('36h'), 36 * 3600_000);
    assert.equal(parseAge('2s'), 2000);
  });

  test('a fraction that is no whole millisecond is rounded to one (PostgreSQL compares it with a bigint)', () => {
    assert.equal(parseAge('0.123456789'), 10_666_667);
    assert.equal(parseAge('1.0004ms'), 1);
  });

  test('anything else is refused with a clear message', () => {
    for (const value of ['abc', '-1', '-3d', '', 'h']) {
      assert.throws(() => parseAge(value), /--older-than must be a number of days/, value);
    }
  });
});
