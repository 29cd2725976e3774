// The stock code's expiry sweep, in a process of its own as a hand-written cron job would run
// (and as the module's sweep runs, through sweep-once.ts): one DELETE … RETURNING, then the
// files unlinked a thousand at a time with Node's default thread pool. Prints its report as
// JSON for the bench. Before, it ran inside the bench process, which also drives the uploads
// during the sweep, so the stock code's row paid for sharing that process's event loop.
import { unlink } from 'node:fs/promises';
import pg from 'pg';

const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
await client.connect();
const started = performance.now();
const { rows } = await client.query<{ path: string }>(
  `DELETE FROM baseline_uploads WHERE created < now() - interval '1 day' RETURNING path`,
);
for (let start = 0; start < rows.length; start += 1000)
  await Promise.all(rows.slice(start, start + 1000).map((row) => unlink(row.path).catch(() => undefined)));
const durationMs = performance.now() - started;
await client.end();
process.stdout.write(`${JSON.stringify({ count: rows.length, durationMs })}\n`);
