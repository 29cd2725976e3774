// `npm run build && node dist/bench/download-alone.js [--quick] [--rounds=N]`: the download row
// alone. One file uploaded to the demo app as shipped (durable, PostgreSQL), then downloaded in
// turns through the module and through express.static serving that very blob (the ceiling
// server), each after a sync, in alternating order. With `BENCH_PROFILE=<folder>` the servers
// run under `node --cpu-prof` (see bench/support.ts).
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createTestDatabase } from '../test/support/databases.js';
import { startEmbeddedPostgres, type RunningPostgres } from '../test/support/postgres-server.js';
import { download, median, startServer, uploadFile } from './support.js';

const MiB = 1024 * 1024;
const quick = process.argv.includes('--quick');
const roundsArgument = process.argv.find((arg) => arg.startsWith('--rounds='));
const size = (quick ? 64 : 1024) * MiB;
const rounds = roundsArgument ? Number(roundsArgument.slice('--rounds='.length)) : 4;

let postgres: RunningPostgres | undefined;
if (!process.env.DATABASE_URL) {
  postgres = await startEmbeddedPostgres();
  process.env.DATABASE_URL = postgres.url;
}
const database = await createTestDatabase('postgres');
const work = await mkdtemp(join(tmpdir(), 'attachments-download-alone-'));
const source = join(work, 'source.bin');
const block = randomBytes(MiB);
await writeFile(
  source,
  (function* () {
    for (let i = 0; i < size / MiB; i += 1) yield block;
  })(),
);
const files = join(work, 'files');
const module = await startServer('module', 'module-server', { ...database.env, ATTACHMENTS_DIR: files });
const ceiling = await startServer('ceiling', 'ceiling-server', { UPLOAD_DIR: join(work, 'ceiling'), STATIC_DIR: files });

/** As bench/run.ts does before each step: what the step before left dirty is flushed first. */
async function settle(): Promise<void> {
  await new Promise<void>((done) => spawn('sync', { stdio: 'ignore' }).on('exit', () => done()));
  await new Promise((resolve) => setTimeout(resolve, 1000));
}

try {
  const upload = await uploadFile(`${module.baseUrl}/attachments/big`, source, size, 'big.bin');
  if (upload.status !== 201) throw new Error(`the upload answered ${upload.status}`);
  const client = new pg.Client({ connectionString: database.env.DATABASE_URL });
  await client.connect();
  const { rows } = await client.query<{ storage_key: string }>(
    `SELECT storage_key FROM session_attachments WHERE bundle = 'big' AND name = 'big.bin'`,
  );
  await client.end();
  const key = rows[0]!.storage_key;
  const blob = `blobs/${key.slice(0, 2)}/${key}`;
  const results = { module: [] as number[], static: [] as number[] };
  const steps = {
    module: () => download(`${module.baseUrl}/attachments/big/big.bin`, upload.cookie),
    static: () => download(`${ceiling.baseUrl}/files/${blob}`),
  };
  for (let round = 1; round <= rounds; round += 1) {
    const order = round % 2 ? (['module', 'static'] as const) : (['static', 'module'] as const);
    for (const name of order) {
      await settle();
      const result = await steps[name]();
      if (result.status !== 200 || result.bytes !== size) throw new Error(`${name}: ${result.status}, ${result.bytes} bytes`);
      results[name].push(size / MiB / result.seconds);
    }
    console.log(
      `round ${round}: module ${results.module.at(-1)!.toFixed(0)} MiB/s, express.static ${results.static.at(-1)!.toFixed(0)} MiB/s`,
    );
  }
  const [ours, theirs] = [median(results.module), median(results.static)];
  console.log(
    `${size / MiB} MiB, medians of ${rounds}: module ${ours.toFixed(0)} MiB/s, express.static on the same blob ` +
      `${theirs.toFixed(0)} MiB/s (${(ours / theirs).toFixed(2)}×)`,
  );
} finally {
  await module.stop();
  await ceiling.stop();
  await database.drop();
  await rm(work, { recursive: true, force: true });
  await postgres?.stop();
}
