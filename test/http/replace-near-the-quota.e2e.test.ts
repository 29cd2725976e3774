// A file that replaces one of the same name is measured against the session's quota without
// the bytes it replaces, while it streams as at commit: replacing a large file with a new
// version of it needs no room for both.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DATABASE_KINDS } from '../support/databases.js';
import { startApp, type RunningApp } from '../support/test-app.js';
import { Visitor } from '../support/visitor.js';

const MIB = 1024 * 1024;

for (const kind of DATABASE_KINDS) {
  describe(`replacing a file near the session quota on ${kind}`, () => {
    let running: RunningApp;
    before(async () => {
      running = await startApp(kind, { attachments: { limits: { bytesPerSession: 3 * MIB } } });
    });
    after(() => running.close());

    // 2 MiB: past the size at which the quota is looked up while the file streams.
    const version = (byte: number) => Buffer.alloc(2 * MIB, byte);

    test('a new version of a 2 MiB file under a 3 MiB quota replaces it', async () => {
      const visitor = new Visitor(running.baseUrl);
      assert.equal((await visitor.upload('/attachments/draft', [['f', 'big.bin', version(1)]])).status, 201);
      const replaced = await visitor.upload('/attachments/draft', [['f', 'big.bin', version(2)]]);
      assert.equal(replaced.status, 201, await replaced.clone().text());
      const stored = Buffer.from(await (await visitor.get('/attachments/draft/big.bin')).arrayBuffer());
      assert.ok(stored.equals(version(2)));
    });

    test('the same file under another name still finds no room: 413 session_quota_exceeded', async () => {
      const visitor = new Visitor(running.baseUrl);
      assert.equal((await visitor.upload('/attachments/draft', [['f', 'big.bin', version(1)]])).status, 201);
      const refused = await visitor.upload('/attachments/other', [['f', 'big.bin', version(2)]]);
      assert.equal(refused.status, 413);
      assert.equal(((await refused.json()) as { code: string }).code, 'session_quota_exceeded');
    });
  });
}
