// The array options name the element that is wrong, by its index and value, and say what one
// element must be, instead of showing the whole array as "[object Array]".
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { resolveOptions } from '../../src/attachments/attachments.options.js';
import { AttachmentsModule, InvalidAttachmentsOptionError, type AttachmentsModuleOptions } from '../../src/attachments/index.js';

const refusal = (pattern: RegExp) => (error: unknown) =>
  error instanceof InvalidAttachmentsOptionError && pattern.test(error.message);

function refuses(options: unknown, pattern: RegExp): void {
  assert.throws(() => resolveOptions(options as AttachmentsModuleOptions), refusal(pattern), `${pattern}`);
}

describe('array options', () => {
  test('trustedOrigins names the bad origin and says an origin has no path or trailing slash', () => {
    refuses(
      { trustedOrigins: ['https://app.example.com', 'https://a.example.com/'] },
      /option "trustedOrigins\[1\]" must be an origin, scheme:\/\/host\[:port\] with no path or trailing slash, such as "https:\/\/a\.example\.com"; got "https:\/\/a\.example\.com\/"$/,
    );
    refuses(
      { trustedOrigins: ['https://a.example.com/app'] },
      /"trustedOrigins\[0\]" .* such as "https:\/\/a\.example\.com"; got "https:\/\/a\.example\.com\/app"$/,
    );
    refuses({ trustedOrigins: ['app.example.com'] }, /"trustedOrigins\[0\]" must be an origin, .*; got "app\.example\.com"$/);
    refuses({ trustedOrigins: [42] }, /"trustedOrigins\[0\]" must be an origin, .*; got 42$/);
    refuses(
      { trustedOrigins: 'https://app.example.com' },
      /option "trustedOrigins" must be an array of origins .*; got "https:\/\/app\.example\.com"$/,
    );
    assert.deepEqual(resolveOptions({ trustedOrigins: ['http://localhost:5173'] }).trustedOrigins, ['http://localhost:5173']);
  });

  test('allowedTypes names the bad media type', () => {
    refuses(
      { allowedTypes: ['image/*', 'pdf'] },
      /option "allowedTypes\[1\]" must be a media type such as "application\/pdf" or "image\/\*"; got "pdf"$/,
    );
    refuses({ allowedTypes: 'image/*' }, /option "allowedTypes" must be an array of media types .*; got "image\/\*"$/);
    assert.deepEqual(resolveOptions({ allowedTypes: ['Image/PNG'] }).allowedTypes, ['image/png']);
  });

  test('a hole in an array is named like any other bad element', () => {
    // eslint-disable-next-line no-sparse-arrays
    refuses({ allowedTypes: ['image/*', , 'text/plain'] }, /option "allowedTypes\[1\]" must be a media type .*; got undefined$/);
  });

  test('guards names the guard that is none, checked when the module is defined', () => {
    class NotAGuard {}
    assert.throws(
      () => AttachmentsModule.forRoot({ guards: [{ canActivate: () => true }, NotAGuard] as never }),
      refusal(
        /option "guards\[1\]" must be a guard: a CanActivate class or an instance with canActivate\(\); got class NotAGuard$/,
      ),
    );
    assert.throws(
      () => AttachmentsModule.forRootAsync({ useFactory: () => ({}), guards: [{}] as never }),
      refusal(/option "guards\[0\]" must be a guard: .*; got an object$/),
    );
    assert.throws(
      () => AttachmentsModule.forRoot({ guards: 'auth' as never }),
      refusal(/option "guards" must be an array of guards/),
    );
  });
});
