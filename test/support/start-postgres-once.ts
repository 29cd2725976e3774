// The test command's PostgreSQL start-up on its own: start a server, run one query, stop it.
// test/infrastructure/private-folder.serial.test.ts runs this from a checkout in a private folder.
import pg from 'pg';
import { startEmbeddedPostgres } from './postgres-server.js';

const server = await startEmbeddedPostgres();
try {
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  const { rows } = await client.query<{ answer: number }>('SELECT 6 * 7 AS answer');
  await client.end();
  console.log(`PostgreSQL answered ${rows[0]?.answer}`);
} finally {
  await server.stop();
}
