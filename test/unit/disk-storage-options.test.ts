// DiskStorage refuses options it does not know or cannot use, as AttachmentsModule and
// S3Storage do: `{ durabel: false }` would otherwise flush every file after all, `{ dir }` fail
// later with a TypeError about `paths[0]`, and `durable: 'false'` (read from an environment
// variable) flush every file while its author thinks it does not.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DiskStorage, type DiskStorageOptions } from '../../src/attachments/index.js';

/** Options as a host reads them from its configuration: not checked by TypeScript's literal check. */
const fromConfiguration = (options: unknown) => options as DiskStorageOptions;

describe('DiskStorage options', () => {
  test('a misspelt option is refused, naming the option it was meant to be', () => {
    assert.throws(() => new DiskStorage(fromConfiguration({ directory: 'var/a', durabel: false })), {
      message: 'DiskStorage: option `durabel` is unknown: did you mean `durable`?',
    });
    assert.throws(() => new DiskStorage(fromConfiguration({ directroy: 'var/a' })), {
      message: 'DiskStorage: option `directroy` is unknown: did you mean `directory`?',
    });
  });

  test('an option unlike any is refused, listing the options', () => {
    assert.throws(() => new DiskStorage(fromConfiguration({ dir: 'var/a' })), {
      message: 'DiskStorage: option `dir` is unknown; the options are directory, durable',
    });
  });

  test('a directory that is not a path and a durable that is not a boolean are refused', () => {
    assert.throws(() => new DiskStorage(fromConfiguration({})), {
      message: 'DiskStorage: `directory` must be the path of a folder; got undefined',
    });
    assert.throws(
      () => new DiskStorage(fromConfiguration({ directory: '' })),
      /`directory` must be the path of a folder; got ""/,
    );
    assert.throws(() => new DiskStorage(fromConfiguration({ directory: 'var/a', durable: 'false' })), {
      message: 'DiskStorage: `durable` must be true or false; got "false"',
    });
    assert.throws(() => new DiskStorage(fromConfiguration(undefined)), /options must be an object/);
  });

  test('the options it knows, and durable left undefined, are accepted', () => {
    assert.ok(new DiskStorage({ directory: 'var/a', durable: false }));
    assert.ok(new DiskStorage({ directory: 'var/a', durable: undefined }));
    assert.ok(new DiskStorage({ directory: 'var/a' }));
  });
});
