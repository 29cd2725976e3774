// The stored type is one host code can trust: a name cannot make markup or unknown bytes look
// like a PDF or an image.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DATABASE_KINDS } from '../support/databases.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { Visitor, type AttachmentBody } from '../support/visitor.js';

const HTML = '<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>';
const SVG = '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(document.cookie)"/>';

for (const kind of DATABASE_KINDS) {
  describe(`content types on ${kind}`, () => {
    describe("with allowedTypes ['application/pdf', 'image/*']", () => {
      let running: RunningApp;
      before(async () => {
        running = await startApp(kind, { attachments: { allowedTypes: ['application/pdf', 'image/*'] } });
      });
      after(() => running.close());

      for (const [name, content] of [
        ['evil.pdf', HTML],
        ['evil.png', SVG],
        ['logo.svg', SVG],
        ['fake.pdf', 'not a pdf, only words'],
      ] as const) {
        test(`${name} holding ${content.slice(0, 12)}… is refused with 415 and nothing is stored`, async () => {
          const visitor = new Visitor(running.baseUrl);
          const response = await visitor.upload('/attachments/docs', [['f', name, content]]);
          assert.equal(response.status, 415);
          assert.equal(((await response.json()) as { code: string }).code, 'type_not_allowed');
          assert.deepEqual(await visitor.names('docs'), []);
        });
      }

      test('a real PDF is accepted', async () => {
        const visitor = new Visitor(running.baseUrl);
        const response = await visitor.upload('/attachments/docs', [['f', 'real.pdf', '%PDF-1.7\n1 0 obj\n']]);
        assert.equal(response.status, 201);
        assert.equal(((await response.json()) as AttachmentBody[])[0]!.mimetype, 'application/pdf');
      });
    });

    describe('without allowedTypes', () => {
      let running: RunningApp;
      before(async () => {
        running = await startApp(kind);
      });
      after(() => running.close());

      test('HTML named .pdf and SVG named .png are stored, listed and served as what they are', async () => {
        const visitor = new Visitor(running.baseUrl);
        const response = await visitor.upload('/attachments/any', [
          ['f', 'evil.pdf', HTML],
          ['f', 'evil.png', SVG],
          ['f', 'binary.txt', new Uint8Array([0x68, 0x00, 0x01, 0x02])],
          ['f', 'table.csv', 'a,b\n1,2\n'],
        ]);
        assert.equal(response.status, 201);
        const expected = [
          ['binary.txt', 'application/octet-stream'],
          ['evil.pdf', 'text/html'],
          ['evil.png', 'image/svg+xml'],
          ['table.csv', 'text/csv'],
        ];
        const uploaded = (await response.json()) as AttachmentBody[];
        assert.deepEqual(
          uploaded.map((a) => [a.name, a.mimetype]).sort(([a], [b]) => a!.localeCompare(b!)),
          expected,
        );
        const listed = await visitor.json<AttachmentBody[]>('/attachments/any');
        assert.deepEqual(
          listed.map((a) => [a.name, a.mimetype]),
          expected,
        );
        const download = await visitor.get('/attachments/any/evil.pdf');
        assert.equal(download.headers.get('content-type'), 'text/html');
        assert.match(download.headers.get('content-disposition') ?? '', /^attachment;/);
        assert.equal(await download.text(), HTML);
      });
    });
  });
}
