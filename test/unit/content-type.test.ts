import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { detectType, isAllowedType, SNIFF_BYTES, UNKNOWN_TYPE } from '../../src/attachments/content-type.js';

const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
const typeOf = (content: string | Buffer, name: string) =>
  detectType(typeof content === 'string' ? Buffer.from(content) : content, name);

describe('content types', () => {
  describe('markup is recognised from the content, whatever the name', () => {
    for (const [content, name, type] of [
      ['<!DOCTYPE html><html><body>hi</body></html>', 'evil.pdf', 'text/html'],
      ['<html><script>alert(1)</script></html>', 'notes.txt', 'text/html'],
      ['<script>alert(1)</script>', 'data.csv', 'text/html'],
      ['\ufeff \n\t<div onclick="x()">', 'data.json', 'text/html'],
      ['<!-- a comment --><p>text', 'readme.md', 'text/html'],
      ['<!-- only a comment -->', 'readme.md', 'text/html'],
      ['<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', 'evil.png', 'image/svg+xml'],
      ['<svg xmlns="http://www.w3.org/2000/svg"></svg>', 'logo.svg', 'image/svg+xml'],
      ['<?xml version="1.0"?>\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x">\n<svg>', 'evil.png', 'image/svg+xml'],
      ['<!-- generator --><svg width="1">', 'evil.gif', 'image/svg+xml'],
      [`<?xml version="1.0"?><!-- ${'metadata '.repeat(300)}--><svg>`, 'drawing.png', 'image/svg+xml'],
      ['<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml">', 'page.txt', 'text/html'],
      ['<?xml version="1.0"?><note>hi</note>', 'note.txt', 'application/xml'],
    ] as const) {
      test(`${JSON.stringify(content.slice(0, 30))} named ${name} → ${type}`, async () => {
        assert.equal(await typeOf(content, name), type);
      });
    }
  });

  test('markup after any whitespace trimStart skips (latin1 bytes: tab, LF, VT, FF, CR, space, NBSP) is still markup', async () => {
    for (const space of [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0xa0]) {
      const head = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf, space, 0x20, space]), Buffer.from('<svg width="1">')]);
      assert.equal(await typeOf(head, 'x.png'), 'image/svg+xml', `after 0x${space.toString(16)}`);
      assert.equal(await typeOf(Buffer.concat([Buffer.from([space]), Buffer.from('<p>hi')]), 'x.txt'), 'text/html');
    }
    // Any other byte before the `<` is not whitespace: not markup (a text name then decides).
    assert.equal(await typeOf(Buffer.from('x<svg width="1">'), 'notes.txt'), 'text/plain');
    assert.equal(await typeOf(Buffer.from([0x85, 0x3c, 0x73, 0x76, 0x67, 0x3e]), 'x.bin'), UNKNOWN_TYPE);
    assert.equal(await typeOf('   ', 'blank.txt'), 'text/plain');
  });

  test('magic numbers decide over the name', async () => {
    assert.equal(await typeOf(PNG, 'picture.txt'), 'image/png');
    assert.equal(await typeOf('%PDF-1.7\n%binary', 'notes.txt'), 'application/pdf');
  });

  test('a name of a type with a signature is not believed without that signature', async () => {
    assert.equal(await typeOf('not a pdf at all', 'evil.pdf'), UNKNOWN_TYPE);
    assert.equal(await typeOf('plain words', 'evil.png'), UNKNOWN_TYPE);
    assert.equal(await typeOf('not a program', 'tool.exe'), UNKNOWN_TYPE);
  });

  test('a markup name is not believed without markup content', async () => {
    assert.equal(await typeOf('just words', 'page.html'), UNKNOWN_TYPE);
    assert.equal(await typeOf('just words', 'logo.svg'), UNKNOWN_TYPE);
    assert.equal(await typeOf('just words', 'feed.xml'), UNKNOWN_TYPE);
  });

  test('a text name over text content names the type', async () => {
    assert.equal(await typeOf('a,b\n1,2\n', 'data.csv'), 'text/csv');
    assert.equal(await typeOf('{"a": [1, 2]}', 'data.json'), 'application/json');
    assert.equal(await typeOf('# Title\n\nsome *text*', 'readme.md'), 'text/markdown');
    assert.equal(await typeOf('Grüße, 東京 🎉\r\n\tand a form feed \f', 'notes.txt'), 'text/plain');
    assert.equal(await typeOf('{"name": "app"}', 'site.webmanifest'), 'application/manifest+json');
    assert.equal(await typeOf('', 'empty.txt'), 'text/plain');
  });

  test('a text name over binary content is unknown', async () => {
    assert.equal(await typeOf(Buffer.from([0x68, 0x69, 0x00, 0x21]), 'notes.txt'), UNKNOWN_TYPE);
    assert.equal(await typeOf(Buffer.from('abc\x07def'), 'notes.txt'), UNKNOWN_TYPE);
    assert.equal(await typeOf(Buffer.from([0x61, 0xff, 0xfe, 0x62]), 'data.csv'), UNKNOWN_TYPE);
    assert.equal(await typeOf(Buffer.from([0x61, 0xc3]), 'notes.txt'), UNKNOWN_TYPE, 'a complete file ends on a character');
  });

  test('a character cut by the end of the sniffed head still counts as text', async () => {
    const head = Buffer.concat([Buffer.alloc(SNIFF_BYTES - 1, 'a'), Buffer.from('é').subarray(0, 1)]);
    assert.equal(await typeOf(head, 'long.txt'), 'text/plain');
    const longer = Buffer.concat([Buffer.alloc(SNIFF_BYTES - 1, 'a'), Buffer.from('é'), Buffer.alloc(100, 'b')]);
    assert.equal(await typeOf(longer, 'long.txt'), 'text/plain');
  });

  test('no extension, or one that names nothing, is unknown', async () => {
    assert.equal(await typeOf('plain words', 'README'), UNKNOWN_TYPE);
    assert.equal(await typeOf('plain words', 'txt'), UNKNOWN_TYPE);
    assert.equal(await typeOf('plain words', 'file.unknown-extension'), UNKNOWN_TYPE);
  });
});

describe('allowed types', () => {
  test('exact types and wildcards', () => {
    const allowed = ['application/pdf', 'image/*'];
    assert.equal(isAllowedType('application/pdf', allowed), true);
    assert.equal(isAllowedType('image/png', allowed), true);
    assert.equal(isAllowedType('text/html', allowed), false);
    assert.equal(isAllowedType(UNKNOWN_TYPE, allowed), false);
    assert.equal(isAllowedType('text/html', undefined), true);
  });

  test('a wildcard never matches markup: it must be listed exactly', () => {
    assert.equal(isAllowedType('image/svg+xml', ['image/*']), false);
    assert.equal(isAllowedType('text/html', ['text/*']), false);
    assert.equal(isAllowedType('text/xml', ['text/*']), false);
    assert.equal(isAllowedType('text/plain', ['text/*']), true);
    assert.equal(isAllowedType('image/svg+xml', ['image/*', 'image/svg+xml']), true);
    assert.equal(isAllowedType('text/html', ['text/html']), true);
  });
});
