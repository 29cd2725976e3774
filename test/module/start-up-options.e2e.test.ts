// What forRoot and forRootAsync are given, as an app receives it: nothing at all is every default,
// and options that are not an object, unknown or misplaced stop the app at start-up naming them.
import { Injectable } from '@nestjs/common';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { resolveOptions, type ResolvedAttachmentsOptions } from '../../src/attachments/attachments.options.js';
import { RESOLVED_ATTACHMENTS_OPTIONS } from '../../src/attachments/attachments.tokens.js';
import { AttachmentsModule, InvalidAttachmentsOptionError, type AttachmentsModuleOptions } from '../../src/attachments/index.js';
import { startContext } from '../support/attachments-context.js';

const refusal = (pattern: RegExp) => (error: unknown) =>
  error instanceof InvalidAttachmentsOptionError && pattern.test(error.message);

describe('forRoot and forRootAsync at start-up', () => {
  test('forRoot() with nothing starts with every default', async () => {
    const context = await startContext([AttachmentsModule.forRoot()]);
    try {
      assert.deepEqual(context.get<symbol, ResolvedAttachmentsOptions>(RESOLVED_ATTACHMENTS_OPTIONS), resolveOptions());
    } finally {
      await context.close();
    }
  });

  test('a factory that returns anything but an object (a forgotten return too) stops the app, saying what it must return', async () => {
    for (const returned of [null, undefined, 'big', 42, ['limits']]) {
      await assert.rejects(
        startContext([AttachmentsModule.forRootAsync({ useFactory: () => returned as unknown as AttachmentsModuleOptions })]),
        refusal(/AttachmentsModule options must be an object .*forRootAsync's factory/),
        JSON.stringify(returned),
      );
    }
  });

  test('a typo stops the app, naming the key and the option it resembles', async () => {
    await assert.rejects(
      startContext([AttachmentsModule.forRoot({ limits: { fileSzie: '1mb' } } as never)]),
      refusal(/option "limits\.fileSzie" is unknown: did you mean "limits\.fileSize"\?/),
    );
    await assert.rejects(
      startContext([AttachmentsModule.forRootAsync({ useFactory: () => ({ maxFileSize: 1 }) as never })]),
      refusal(/option "maxFileSize" is unknown: did you mean "limits\.fileSize"\?/),
    );
  });

  test("an extra returned by forRootAsync's factory stops the app, saying it goes beside useFactory", async () => {
    await assert.rejects(
      startContext([AttachmentsModule.forRootAsync({ useFactory: () => ({ path: 'api/files', expireAfter: '1h' }) as never })]),
      refusal(/option "path" is an extra: forRootAsync takes it beside useFactory\/useClass\/useExisting/),
    );
  });

  test('an option given to forRootAsync beside the factory is refused there: the factory returns the options', () => {
    assert.throws(
      () => AttachmentsModule.forRootAsync({ useFactory: () => ({}), limits: { fileSize: '1mb' } } as never),
      refusal(/option "limits" was given to forRootAsync beside the factory.*return it from the factory/),
    );
    assert.throws(
      () => AttachmentsModule.forRootAsync({ useFactroy: () => ({}) } as never),
      refusal(/option "useFactroy" is unknown: did you mean "useFactory"\?/),
    );
  });

  test("a useClass factory's method is create(), as the README says", async () => {
    @Injectable()
    class AttachmentsConfig {
      create(): AttachmentsModuleOptions {
        return { expireAfter: '1h' };
      }
    }
    const context = await startContext([AttachmentsModule.forRootAsync({ useClass: AttachmentsConfig })]);
    try {
      assert.equal(context.get<symbol, ResolvedAttachmentsOptions>(RESOLVED_ATTACHMENTS_OPTIONS).expireAfter, 3600_000);
    } finally {
      await context.close();
    }
  });
});
