// `npm run build && node dist/bench/call-batching.js [--calls=20000] [--rounds=2]`: what a
// named query with the put call's 17 parameters costs its client (pg's driver, this
// process's CPU), one call per upload (32 at once, as the 1 KiB burst's connections) against
// one call carrying eight uploads' parameters (4 at once): the most that batching several
// uploads' database calls into one statement could take off an app server's CPU. PostgreSQL
// answers from the embedded server (or DATABASE_URL); the statements touch no table.
import pg from 'pg';
import { startEmbeddedPostgres, type RunningPostgres } from '../test/support/postgres-server.js';
import { option } from './cli-options.js';

const calls = Number(option('calls') ?? 20_000);
const rounds = Number(option('rounds') ?? 2);
const BATCH = 8;

let postgres: RunningPostgres | undefined;
if (!process.env.DATABASE_URL) postgres = await startEmbeddedPostgres();
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL ?? postgres!.url, max: 10 });

/** One upload's parameters, shaped as the put call's. */
const parameters = () => [
  1,
  2,
  `session-${Math.random()}`,
  'bundle',
  ['id'],
  ['name.txt'],
  ['text/plain'],
  [1024],
  ['0'.repeat(64)],
  ['inline:x'],
  Buffer.alloc(1024),
  [1024],
  Date.now(),
  10,
  500_000_000,
  20,
  null,
];
const ONE =
  'SELECT $1::int + $2::int AS a, $3::varchar, $4::varchar, $5::varchar[], $6::varchar[], $7::varchar[], $8::bigint[], ' +
  '$9::varchar[], $10::varchar[], length($11::bytea), $12::int[], $13::bigint, $14::bigint, $15::bigint, $16::bigint, $17::bigint';
const MANY = 'SELECT x FROM unnest($1::text[]) x';

/** Client CPU per upload, in ms, for `calls` uploads sent `perCall` at a time by `clients` at once. */
async function measure(perCall: number, clients: number): Promise<number> {
  let sent = 0;
  const client = async () => {
    while (sent < calls) {
      sent += perCall;
      const connection = await pool.connect();
      try {
        if (perCall === 1) await connection.query({ name: 'one', text: ONE, values: parameters() });
        else {
          const uploads = Array.from({ length: perCall }, () => JSON.stringify(parameters().slice(2, 10)));
          await connection.query({ name: 'many', text: MANY, values: [uploads] });
        }
      } finally {
        connection.release();
      }
    }
  };
  const before = process.cpuUsage();
  await Promise.all(Array.from({ length: clients }, client));
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000 / calls;
}

for (let round = 1; round <= rounds; round += 1) {
  const one = await measure(1, 32);
  const batched = await measure(BATCH, 4);
  console.log(
    `round ${round}: client CPU per upload, one call each ${one.toFixed(4)} ms, ${BATCH} per call ${batched.toFixed(4)} ms`,
  );
}
await pool.end();
await postgres?.stop();
