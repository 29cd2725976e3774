// Every key of the options is one the module reads: a typo or an option at the wrong level
// stops the app naming it (and the option it resembles) instead of being silently ignored.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { resolveOptions } from '../../src/attachments/attachments.options.js';
import {
  AttachmentRejected,
  DiskStorage,
  InvalidAttachmentsOptionError,
  type AttachmentsLimits,
  type AttachmentsModuleOptions,
  type PreviewsOptions,
} from '../../src/attachments/index.js';

/** Asserts that `options` are refused with a message that matches `pattern`. */
function refuses(options: unknown, pattern: RegExp): void {
  assert.throws(
    () => resolveOptions(options as AttachmentsModuleOptions),
    (error: unknown) => error instanceof InvalidAttachmentsOptionError && pattern.test(error.message),
    `${pattern} for ${JSON.stringify(options)}`,
  );
}

describe('unknown and misplaced option keys', () => {
  test('a typo names the key and the option it resembles, at the top level and in limits and previews', () => {
    refuses({ maxFileSzie: '1mb' }, /option "maxFileSzie" is unknown: did you mean "limits\.fileSize"\?/);
    refuses({ limits: { fileSzie: '1mb' } }, /option "limits\.fileSzie" is unknown: did you mean "limits\.fileSize"\?/);
    refuses({ previews: { sharp, timout: '5s' } }, /option "previews\.timout" is unknown: did you mean "previews\.timeout"\?/);
    refuses({ expireafter: '1h' }, /option "expireafter" is unknown: did you mean "expireAfter"\?/);
    refuses({ trustedOrigin: [] }, /option "trustedOrigin" is unknown: did you mean "trustedOrigins"\?/);
  });

  test('an option at the wrong level names where it goes', () => {
    refuses({ fileSize: '1mb' }, /option "fileSize" is unknown: did you mean "limits\.fileSize"\?/);
    refuses({ maxFileSize: '1mb' }, /option "maxFileSize" is unknown: did you mean "limits\.fileSize"\?/);
    refuses({ limits: { inlineMaxSize: 0 } }, /option "limits\.inlineMaxSize" is unknown: did you mean "inlineMaxSize"\?/);
  });

  test('a key like no option lists the ones there are', () => {
    refuses({ colour: 'red' }, /option "colour" is unknown; the options are storage, limits, .*resumableExpireAfter/);
    refuses(
      { limits: { speed: 1 } },
      /option "limits\.speed" is unknown; "limits" takes fileSize, filesPerRequest, .*headerPairs/,
    );
    refuses(
      { previews: { sharp, quality: 80 } },
      /option "previews\.quality" is unknown; "previews" takes sharp, maxInputPixels, timeout, concurrency/,
    );
  });

  test('a key given as undefined is still checked: it is a typo all the same', () => {
    refuses({ limits: { fileSzie: undefined } }, /option "limits\.fileSzie" is unknown/);
  });

  test("the extras among the options (what forRootAsync's factory returned) say they go beside the factory", () => {
    for (const extra of ['path', 'guards', 'resumable', 'isGlobal']) {
      refuses(
        { [extra]: undefined },
        new RegExp(
          `option "${extra}" is an extra: forRootAsync takes it beside useFactory/useClass/useExisting, .*not in the options`,
        ),
      );
    }
  });
});

describe('option objects', () => {
  test('the options themselves must be an object', () => {
    for (const options of [null, 'big', 42, [], () => ({})]) refuses(options, /AttachmentsModule options must be an object/);
  });

  test('limits and previews must be plain objects; undefined takes the default', () => {
    for (const limits of ['big', null, 42, [], new Map(), new (class Limits {})()]) {
      refuses({ limits }, /option "limits" must be an object such as \{ fileSize: '20MB' \}/);
    }
    for (const previews of ['sharp', null, [], new (class Previews {})()]) {
      refuses({ previews }, /option "previews" must be an object with the host's sharp/);
    }
    assert.equal(resolveOptions({ limits: undefined, previews: undefined }).previews, undefined);
  });

  test('every option the interfaces declare is accepted, each of limits and previews too', () => {
    const limits: Required<AttachmentsLimits> = {
      fileSize: '20MB',
      filesPerRequest: 5,
      filesPerBundle: 10,
      bytesPerSession: '100MB',
      bundlesPerSession: 5,
      fields: 10,
      fieldSize: '1kb',
      parts: 20,
      headerPairs: 10,
    };
    const previews: Required<PreviewsOptions> = { sharp, maxInputPixels: 1000, timeout: '5s', concurrency: 3 };
    const every: Required<AttachmentsModuleOptions> = {
      storage: new DiskStorage({ directory: 'var/option-names' }),
      limits,
      allowedTypes: ['image/*'],
      trustedOrigins: ['https://app.example.com'],
      uploadIdleTimeout: '10s',
      uploadTimeout: '30m',
      expireAfter: '1h',
      sweepEvery: false,
      orphanGracePeriod: '1h',
      sweepBatchSize: 100,
      owner: () => 'user:1',
      previews,
      inspect: () => Promise.reject(new AttachmentRejected('no')),
      inspectTimeout: '5s',
      inlineMaxSize: 0,
      resumableExpireAfter: '2h',
    };
    const resolved = resolveOptions(every);
    assert.equal(resolved.previews?.timeoutSeconds, 5);
    assert.equal(resolved.resumableExpireAfter, 2 * 3600_000);
  });
});
