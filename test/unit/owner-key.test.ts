// Owner keys as stored, and the options that name the owner: checked at start-up.
import { GUARDS_METADATA } from '@nestjs/common/constants.js';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AttachmentsModule, InvalidAttachmentsOptionError, ownerKey } from '../../src/attachments/index.js';
import { resolveOptions } from '../../src/attachments/attachments.options.js';

describe('ownerKey', () => {
  test('a short printable ASCII key is stored as given', () => {
    assert.equal(ownerKey('user:42'), 'user:42');
    assert.equal(ownerKey('x'.repeat(64)), 'x'.repeat(64));
  });

  test('a longer, non-ASCII, spaced or ~-prefixed key is stored as ~ and its SHA-256, never truncated', () => {
    const hashed = [ownerKey('x'.repeat(65)), ownerKey('user:zoë'), ownerKey('user 42'), ownerKey('~abc')];
    for (const key of hashed) assert.match(key, /^~[A-Za-z0-9_-]{43}$/);
    assert.equal(new Set(hashed).size, 4);
    assert.notEqual(ownerKey('x'.repeat(65)), ownerKey('x'.repeat(66)));
    // A key given verbatim can never look like a hashed one.
    assert.notEqual(ownerKey(hashed[0]!), hashed[0]);
  });

  test('an empty key is refused', () => {
    assert.throws(() => ownerKey(''), TypeError);
  });
});

describe('the owner option and the guards extra', () => {
  test('owner must be a function', () => {
    assert.throws(
      () => resolveOptions({ owner: 'user:1' as never }),
      (error: Error) => {
        assert.ok(error instanceof InvalidAttachmentsOptionError);
        assert.match(error.message, /option "owner" must be a function of the request/);
        return true;
      },
    );
    assert.equal(typeof resolveOptions({ owner: () => 'user:1' }).owner, 'function');
  });

  test('guards must be CanActivate classes or instances, checked when the module is defined', () => {
    assert.throws(() => AttachmentsModule.forRoot({ guards: [{}] as never }), /option "guards\[0\]" must be a guard/);
    class Guard {
      canActivate() {
        return true;
      }
    }
    assert.doesNotThrow(() => AttachmentsModule.forRoot({ guards: [Guard, new Guard()] }));
    // forRootAsync takes them beside the factory, like `path`.
    assert.throws(() => AttachmentsModule.forRootAsync({ useFactory: () => ({}), guards: [42] as never }), /"guards\[0\]"/);
    const mounted = AttachmentsModule.forRootAsync({ useFactory: () => ({}), guards: [Guard] });
    // Every route of the module (attachments, previews, resumable uploads) is behind the host's guards.
    assert.equal(mounted.controllers?.length, 3);
    for (const controller of mounted.controllers ?? []) {
      const guards = Reflect.getMetadata(GUARDS_METADATA, controller) as unknown[] | undefined;
      assert.ok(guards?.includes(Guard), `${controller.name} has the host's guard`);
    }
  });
});
