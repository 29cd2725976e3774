// The render version names how previews are made: it changes with sharp's or any reported
// library's version, and stays the same for the same sharp. The module refuses, at
// registration, a sharp that does not say its versions (a wrapper that dropped them): its
// previews could never be told from another version's.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { resolveOptions } from '../../src/attachments/attachments.options.js';
import { InvalidAttachmentsOptionError, type AttachmentsModuleOptions } from '../../src/attachments/index.js';
import { renderVersion } from '../../src/attachments/previews/preview-render.js';
import { withSharpVersions } from '../support/previews.js';

/** A fresh wrapper each time: withSharpVersions dresses the function it is given. */
const render = () => (input: Buffer, options: Parameters<typeof sharp>[1]) => sharp(input, options);

describe('preview render version', () => {
  test('the same for the same versions, another for another sharp, libvips or libwebp', () => {
    const current = renderVersion(withSharpVersions(render()));
    assert.equal(renderVersion(withSharpVersions(render(), { ...sharp.versions })), current);
    assert.match(current, /^[0-9a-f]{16}$/);
    const others = [
      { ...sharp.versions, sharp: '9.9.9' },
      { ...sharp.versions, vips: '9.9.9' },
      { ...sharp.versions, webp: '9.9.9' },
    ].map((versions) => renderVersion(withSharpVersions(render(), versions)));
    assert.equal(new Set([current, ...others]).size, 4);
  });

  test('a sharp without its versions is refused, naming previews.sharp', () => {
    for (const sharpLike of [render(), Object.assign(render(), { versions: { sharp: '0.35.5' } })]) {
      assert.throws(
        () => resolveOptions({ previews: { sharp: sharpLike } } as unknown as AttachmentsModuleOptions),
        (error: unknown) =>
          error instanceof InvalidAttachmentsOptionError &&
          error.message.includes('option "previews.sharp" must be sharp itself'),
      );
    }
    assert.equal(resolveOptions({ previews: { sharp } }).previews?.sharp, sharp);
  });
});
