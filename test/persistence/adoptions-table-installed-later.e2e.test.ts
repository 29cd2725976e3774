// An instance may take its first login before the migration that makes the adoptions table has
// run (a release step that migrates after the instances start). Once the table is there, the
// next login must record its adoption, or uploads to the anonymous session that commit after
// it (a file still arriving at login) never follow the visitor to the account.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DataSource } from 'typeorm';
import { AttachmentsService, ownerKey } from '../../src/attachments/index.js';
import { DATABASE_KINDS } from '../support/databases.js';
import { startApp, type RunningApp } from '../support/test-app.js';

for (const kind of DATABASE_KINDS) {
  describe(`adoptions and an adoptions table installed after the first login, on ${kind}`, () => {
    let running: RunningApp;
    before(async () => {
      running = await startApp(kind);
    });
    after(() => running.close());

    test('a login after the table appeared records its adoption', async () => {
      const dataSource = running.app.get(DataSource);
      const attachments = running.app.get(AttachmentsService);
      const into = ownerKey('user:later');
      await dataSource.query('ALTER TABLE session_attachment_adoptions RENAME TO session_attachment_adoptions_later');
      await attachments.adopt(ownerKey('anonymous-before'), into);
      await dataSource.query('ALTER TABLE session_attachment_adoptions_later RENAME TO session_attachment_adoptions');

      await attachments.adopt(ownerKey('anonymous-after'), into);
      const rows = await dataSource.query<Array<{ from_key: string; into_key: string }>>(
        'SELECT from_key, into_key FROM session_attachment_adoptions',
      );
      assert.deepEqual(rows, [{ from_key: 'anonymous-after', into_key: 'user:later' }]);
    });
  });
}
