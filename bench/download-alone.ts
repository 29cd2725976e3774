// `npm run build && node dist/bench/download-alone.js [--quick] [--rounds=N]`: the download row
// alone. One file uploaded to the demo app as shipped (durable, PostgreSQL), then downloaded in
// turns through the module and through express.static serving that very blob (the ceiling
// server), each after a sync, in alternating order, by curl (see curl-client.ts). With `BENCH_PROFILE=<folder>` the servers
// run under `node --cpu-prof` (see bench/support.ts).
import { join } from 'node:path';
import pg from 'pg';
import { settle, startAloneRun } from './alone-run.js';
import { curlDownload } from './curl-client.js';
import { median, startServer, uploadFile } from './support.js';

const MiB = 1024 * 1024;
const quick = process.argv.includes('--quick');
const roundsArgument = process.argv.find((arg) => arg.startsWith('--rounds='));
const size = (quick ? 64 : 1024) * MiB;
const rounds = roundsArgument ? Number(roundsArgument.slice('--rounds='.length)) : 4;

const { database, work, source, end } = await startAloneRun('download-alone', size);
const files = join(work, 'files');
const module = await startServer('module', 'module-server', { ...database.env, ATTACHMENTS_DIR: files });
const ceiling = await startServer('ceiling', 'ceiling-server', { UPLOAD_DIR: join(work, 'ceiling'), STATIC_DIR: files });

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
    module: () => curlDownload(`${module.baseUrl}/attachments/big/big.bin`, upload.cookie),
    static: () => curlDownload(`${ceiling.baseUrl}/files/${blob}`),
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
  await end();
}
