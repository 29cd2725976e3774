// `npm run bench [-- --quick]`: this module, durable (its default) and with `durable: false`,
// against the stock Nest approach (Multer disk storage + a TypeORM insert) and two ceilings
// (plain http + busboy + SHA-256 to disk; the durable one also fsyncs the file and its folder
// before answering), interleaved in one run on one PostgreSQL, medians over rounds, and the
// ratios that the performance targets are stated in. Nothing here is asserted.
import autocannon from 'autocannon';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, withClient } from '../test/support/databases.js';
import { startEmbeddedPostgres, type RunningPostgres } from '../test/support/postgres-server.js';
import {
  SEED_LISTING_SQL,
  cpuMsOf,
  cpuSecondsOf,
  median,
  multipartHead,
  multipartTail,
  multipartType,
  postgresCpuSeconds,
  profileArgs,
  projectRoot,
  startServer,
  uploadFile,
  withPeakRss,
  type BenchServer,
  visitorCookies,
  writeSourceFile,
} from './support.js';
import { spawn } from 'node:child_process';
import { curlDownload, curlRepeat, curlUpload } from './curl-client.js';
import { benchPreviews } from './previews.js';
import { machinePaceMs } from './machine-pace.js';
import { reportedKib, untilPageReportingQuiet } from './page-reporting.js';
import { chunksOf, tusUploadFile } from './tus.js';

const MiB = 1024 * 1024;
const DAY = 24 * 3600_000;
const quick = process.argv.includes('--quick');
/** The PATCH size of the tus row, as the issue states it (tus-js-client's chunkSize, say). */
const TUS_PATCH = 8 * MiB;
// `--only=big,small,lists,sweeps,previews,s3`: just those measures (a focused run of one target).
const only = process.argv
  .find((arg) => arg.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');
const runs = (measure: string) => only === undefined || only.includes(measure);
// `--rounds=N`: more rounds than three, for firmer medians where rounds differ widely.
const roundsOption = process.argv.find((arg) => arg.startsWith('--rounds='))?.slice('--rounds='.length);
const rounds = roundsOption === undefined ? 3 : Number(roundsOption);
if (!Number.isInteger(rounds) || rounds < 1)
  throw new Error(`--rounds must be a whole number of at least 1, not ${roundsOption}`);
const plan = quick
  ? { big: 64 * MiB, probe: 16 * MiB, burstSeconds: 3, listRows: 20_000, listCount: 300, sweepRows: 5_000, rounds }
  : { big: 1024 * MiB, probe: 64 * MiB, burstSeconds: 15, listRows: 1_000_000, listCount: 1_500, sweepRows: 100_000, rounds };

/** Every server the bench runs, by the name the table and the JSON give it. */
const SERVERS = {
  module: 'the demo app with this module, as shipped (durable)',
  'module-nondurable': 'the same with DiskStorage `durable: false`',
  stock: 'Nest + Multer disk storage (AnyFilesInterceptor) + TypeORM save',
  ceiling: 'node http + busboy + SHA-256 to disk; express.static for downloads',
  'ceiling-durable': 'the ceiling, plus fsync of the file and of its folder before answering',
} as const;
type Server = keyof typeof SERVERS;
const ALL_SERVERS = Object.keys(SERVERS) as Server[];

/** The ratios printed per measure: [label, numerator, denominator]. */
const RATIOS: Array<[string, Server, Server]> = [
  ['module/stock', 'module', 'stock'],
  ['module/ceil-dur', 'module', 'ceiling-durable'],
  ['nondur/stock', 'module-nondurable', 'stock'],
  ['module/ceiling', 'module', 'ceiling'],
];

interface Metric {
  label: string;
  unit: string;
  better: 'higher' | 'lower';
  rounds: Partial<Record<Server, number[]>>;
}
const metrics = new Map<string, Metric>();
function record(key: string, label: string, unit: string, better: Metric['better'], server: Server, value: number): void {
  const metric = metrics.get(key) ?? { label, unit, better, rounds: {} };
  (metric.rounds[server] ??= []).push(value);
  metrics.set(key, metric);
}

const runStarted = performance.now();
/** Free memory the machine had handed back to its host when the run began (see page-reporting.ts). */
const reportedAtStart = await reportedKib();
function log(line: string): void {
  process.stderr.write(`[${((performance.now() - runStarted) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
}

let postgres: RunningPostgres | undefined;
if (!process.env.DATABASE_URL) {
  log('DATABASE_URL is not set: starting an embedded PostgreSQL');
  postgres = await startEmbeddedPostgres();
  process.env.DATABASE_URL = postgres.url;
}
const moduleDb = await createTestDatabase('postgres');
const nondurableDb = await createTestDatabase('postgres');
const stockDb = await createTestDatabase('postgres');
const work = await mkdtemp(join(tmpdir(), 'attachments-bench-'));
const dirs = Object.fromEntries(ALL_SERVERS.map((server) => [server, join(work, server)])) as Record<Server, string>;
for (const dir of Object.values(dirs)) await mkdir(dir, { recursive: true });

// The big file only for the measures that send it (a focused `--only=small` run skips its
// writing, 1 GiB in a full run); the probe also seeds the list's visitor.
const source = join(work, 'source.bin');
const probe = join(work, 'probe.bin');
const block = randomBytes(MiB);
log(
  runs('big')
    ? `writing ${plan.big / MiB} MiB and ${plan.probe / MiB} MiB source files`
    : `writing the ${plan.probe / MiB} MiB probe file`,
);
if (runs('big')) await writeSourceFile(source, plan.big, block);
if (runs('big')) await chunksOf(source, plan.big, TUS_PATCH);
await writeSourceFile(probe, plan.probe, block);

const servers: Record<Server, BenchServer> = {
  module: await startServer('module', 'module-server', { ...moduleDb.env, ATTACHMENTS_DIR: dirs.module }),
  'module-nondurable': await startServer('module-nondurable', 'module-server', {
    ...nondurableDb.env,
    ATTACHMENTS_DIR: dirs['module-nondurable'],
    ATTACHMENTS_DURABLE: '0',
  }),
  stock: await startServer('stock', 'multer-server', { ...stockDb.env, UPLOAD_DIR: dirs.stock }),
  ceiling: await startServer('ceiling', 'ceiling-server', { UPLOAD_DIR: dirs.ceiling, STATIC_DIR: dirs.module }),
  'ceiling-durable': await startServer('ceiling-durable', 'ceiling-server', {
    UPLOAD_DIR: dirs['ceiling-durable'],
    DURABLE: '1',
  }),
};
const isModule = (server: Server) => server === 'module' || server === 'module-nondurable';
const uploadPath = (server: Server, bundle: string) =>
  isModule(server) ? `/attachments/${bundle}` : server === 'stock' ? `/baseline/${bundle}` : '/upload';
const sql = <T>(db: typeof moduleDb, text: string, values: unknown[] = []) =>
  withClient(db.env.DATABASE_URL!, (client) => client.query(text, values)).then((result) => result.rows as T[]);

async function emptyFolder(folder: string): Promise<void> {
  for (const entry of await readdir(folder)) await rm(join(folder, entry), { recursive: true, force: true });
}

function cannon(options: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((done, fail) => autocannon(options, (error: Error | null, result) => (error ? fail(error) : done(result))));
}

const smallBody = Buffer.concat([Buffer.from(multipartHead('file', 'small.txt')), randomBytes(1024), Buffer.from(multipartTail)]);

// The list: 1,000 attachments of one visitor among `listRows` in the table, the same shape for the stock code.
// The small bursts and the big files run against that same table (inserts into a million rows cost
// more than into an empty one); a run of only the sweeps, previews or S3 rows skips it.
const now = Date.now();
let listCookie = '';
if (runs('lists') || runs('small') || runs('big')) {
  log(`seeding ${plan.listRows} rows for the list`);
  const seedUpload = await uploadFile(`${servers.module.baseUrl}/attachments/listing`, probe, plan.probe, 'seed.bin');
  listCookie = seedUpload.cookie!;
  const [{ session_key: listKey }] = (await sql<{ session_key: string }>(
    moduleDb,
    `SELECT session_key FROM session_attachments WHERE bundle = 'listing'`,
  )) as [{ session_key: string }];
  await sql(moduleDb, SEED_LISTING_SQL, [listKey, now, 'list']);
  // Both module servers get the same table: inserts into a table of a million rows (random index
  // pages, full-page writes after each checkpoint) cost more than into an empty one.
  for (const db of [moduleDb, nondurableDb])
    await sql(
      db,
      `INSERT INTO session_attachments (id, session_key, bundle, name, mimetype, size, sha256, storage_key, created_at, updated_at) ` +
        `SELECT gen_random_uuid()::text, 'other-' || (g % 100000), 'b' || (g % 7), 'f' || g, 'text/plain', 1, repeat('0', 64), md5('other' || g), $1, $1 FROM generate_series(1, $2::int) g`,
      [now, plan.listRows - 1000],
    );
  await sql(
    stockDb,
    `INSERT INTO baseline_uploads (id, bundle, name, mimetype, size, path) SELECT gen_random_uuid(), CASE WHEN g <= 1000 THEN 'listing' ELSE 'b' || (g % 100000) END, 'f' || g, 'text/plain', 1, 'x' FROM generate_series(1, $1::int) g`,
    [plan.listRows],
  );
  // VACUUM, not only ANALYZE: otherwise autovacuum wakes on the million new rows during the
  // first measurements and slows whichever server happens to run then.
  for (const db of [moduleDb, nondurableDb]) await sql(db, 'VACUUM ANALYZE session_attachments');
  await sql(stockDb, 'VACUUM ANALYZE baseline_uploads');
}

/**
 * Stale attachments of one byte each, `plan.sweepRows` of them, two days old. The stock code
 * keeps every file on disk. The module keeps such files in their rows (`inline`, as it stores
 * one-byte uploads by default) or, to measure its sweep of stored blobs, as files in its
 * DiskStorage (`stored`, as with `inlineMaxSize: 0` or for files above the threshold).
 */
async function seedSweep(placement: SweepPlacement): Promise<void> {
  const keys = Array.from({ length: plan.sweepRows }, () => randomBytes(16).toString('hex'));
  if (placement === 'stored') {
    const folders = new Set(keys.map((key) => key.slice(0, 2)));
    for (const folder of folders) await mkdir(join(dirs.module, 'blobs', folder), { recursive: true });
    // Synchronous writes: for 100,000 one-byte files, a tight loop beats the thread pool.
    for (const key of keys) writeFileSync(join(dirs.module, 'blobs', key.slice(0, 2), key), 'x');
  }
  await sql(
    moduleDb,
    `INSERT INTO session_attachments (id, session_key, bundle, name, mimetype, size, sha256, storage_key, content, created_at, updated_at) ` +
      `SELECT gen_random_uuid()::text, 'old-' || (n % 5000), 'old', 'old-' || n, 'text/plain', 1, repeat('0', 64), ` +
      (placement === 'stored' ? `k, NULL, ` : `'inline:' || gen_random_uuid(), 'x'::bytea, `) +
      `$2, $2 FROM unnest($1::text[]) WITH ORDINALITY AS t(k, n)`,
    [keys, now - 2 * DAY],
  );
  const paths = keys.map((key) => join(dirs.stock, key));
  for (const path of paths) writeFileSync(path, 'x');
  await sql(
    stockDb,
    `INSERT INTO baseline_uploads (id, bundle, name, mimetype, size, path, created) SELECT gen_random_uuid(), 'old', 'old-' || n, 'text/plain', 1, p, now() - interval '2 days' FROM unnest($1::text[]) WITH ORDINALITY AS t(p, n)`,
    [paths],
  );
}

/** A sweep in a process of its own under `env`: `script` prints `{ count, durationMs }`. */
function runSweepProcess(
  script: string,
  env: Record<string, string | undefined>,
): Promise<{ count: number; durationMs: number }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [...profileArgs, `dist/bench/servers/${script}.js`], {
      cwd: projectRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) =>
      code === 0
        ? done(JSON.parse(output) as { count: number; durationMs: number })
        : fail(new Error(`${script} exited ${code}`)),
    );
  });
}

type SweepPlacement = 'inline' | 'stored';
const SWEEPS: Record<SweepPlacement, { key: string; label: string }> = {
  inline: {
    key: 'sweep',
    label: `sweep ${plan.sweepRows.toLocaleString('en')} 1-byte files, as each stores them (module: in rows), 8 visitors uploading`,
  },
  stored: {
    key: 'sweep-stored',
    label: `sweep ${plan.sweepRows.toLocaleString('en')} 1-byte files, module's as stored blobs, 8 visitors uploading`,
  },
};

/**
 * Runs `work` while eight visitors keep uploading 1 KiB files to `server` (each with a session
 * of its own where the server has sessions), and stops them once it is done: both sweeps are
 * measured under the same load, on the server whose rows they delete.
 */
async function whileUploading<T>(server: 'module' | 'stock', work: () => Promise<T>): Promise<T> {
  const url = servers[server].baseUrl + uploadPath(server, 'bench');
  const sweepVisitors = server === 'module' ? await visitorCookies(url, 8) : [];
  let uploadsDone!: () => void;
  const uploadsStopped = new Promise<void>((done) => (uploadsDone = done));
  const uploads = autocannon(
    {
      url,
      method: 'POST',
      connections: 8,
      duration: 600,
      headers: { 'content-type': multipartType },
      body: smallBody,
      setupClient: (client) => {
        const cookie = sweepVisitors.pop();
        if (cookie) client.setHeaders({ 'content-type': multipartType, cookie });
      },
    },
    (_error, result) => {
      if (result && (result.non2xx > 0 || result.errors > 0))
        log(`  ${server}: ${result.non2xx} non-2xx, ${result.errors} errors while sweeping`);
      uploadsDone();
    },
  );
  try {
    return await work();
  } finally {
    uploads.stop();
    await uploadsStopped;
  }
}

/** The module's expiry sweep, in a process of its own (as the CLI), under uploads. */
async function moduleSweep(placement: SweepPlacement): Promise<void> {
  const report = await whileUploading('module', () =>
    runSweepProcess('sweep-once', { ...moduleDb.env, ATTACHMENTS_DIR: dirs.module, OLDER_THAN_MS: String(DAY) }),
  );
  const { key, label } = SWEEPS[placement];
  record(key, label, 'rows/s', 'higher', 'module', report.count / (report.durationMs / 1000));
}

/**
 * The stock code's sweep, under uploads to the stock server: what a hand-written cron would
 * do, one DELETE … RETURNING and unlinks, a thousand at a time, in a process of its own as the
 * module's.
 */
async function stockSweep(placement: SweepPlacement): Promise<void> {
  const report = await whileUploading('stock', () => runSweepProcess('stock-sweep-once', stockDb.env));
  const { key, label } = SWEEPS[placement];
  record(key, label, 'rows/s', 'higher', 'stock', report.count / (report.durationMs / 1000));
}

/**
 * Flushes what earlier steps left dirty (written files, PostgreSQL's buffers) and pauses, so
 * that a measurement does not pay for the writeback of the one before it. Servers that do not
 * fsync leave their whole file dirty: without this, whoever runs next pays for its writeback.
 */
async function settle(): Promise<void> {
  await new Promise<void>((done, fail) =>
    spawn('sync', { stdio: 'ignore' })
      .on('exit', () => done())
      .on('error', fail),
  );
  // CHECKPOINT needs a superuser (the embedded server's is one); elsewhere it is skipped.
  await sql(moduleDb, 'CHECKPOINT').catch(() => undefined);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  // And what the step before freed is handed back to the host first (page-reporting.ts): the
  // server measured right after a discarded 1 GiB upload no longer writes into the fast memory
  // that upload left (in the 3-round run of 23bc2f7 the stock code followed the module without
  // fsync, and its discard, in every round but one).
  await untilPageReportingQuiet();
}

// Measure by measure, each over all rounds with the servers interleaved (who goes first
// rotates), so that no measure runs after another's heavy leftovers (a sweep's mass deletes,
// say) in some rounds and not in others.
function orderOf(round: number, among: readonly Server[] = ALL_SERVERS): Server[] {
  return among.map((_, index) => among[(index + round) % among.length]!);
}

async function inRounds(name: string, measure: (round: number, order: Server[]) => Promise<void>): Promise<void> {
  for (let round = 1; round <= plan.rounds; round += 1) {
    await settle();
    log(`${name}, round ${round}/${plan.rounds}`);
    await measure(round, orderOf(round));
  }
}

const TUS_LABEL = `tus upload ${plan.big / MiB} MiB in ${TUS_PATCH / MiB} MiB PATCHes`;

/**
 * Removes what one measured upload stored, right after it. Kept until the end of the round, a
 * round's uploads held 5 to 8 GiB of page cache, and on the machine this was built on, writes
 * made while more than about 4 GiB of written files were kept ran in the slow mode the README
 * describes (0.9 to 3.6 ms of the receiver's system time per MiB): the page cache then grew into
 * memory the virtual machine had handed back to its host, slow to write into again
 * (page-reporting.ts), so the servers measured late in a round paid for the ones before.
 */
async function discard(server: Server, bundle: string, cookie: string | undefined): Promise<void> {
  if (isModule(server)) {
    const answer = await fetch(`${servers[server].baseUrl}/attachments/${bundle}`, {
      method: 'DELETE',
      headers: { cookie: cookie ?? '' },
    });
    if (!answer.ok) throw new Error(`${server}: deleting ${bundle} answered ${answer.status}`);
    return;
  }
  await emptyFolder(dirs[server]);
  if (server === 'stock') await sql(stockDb, `DELETE FROM baseline_uploads WHERE bundle = $1`, [bundle]);
}

/**
 * Big uploads on every server, each after a settle; then downloads of the module's and the
 * stock code's, then the 64 MiB and tus uploads. Every upload is discarded once measured (the
 * module's and the stock code's big ones after the downloads that read them).
 */
async function bigFiles(): Promise<void> {
  await inRounds('big files', async (_round, order) => {
    const cookies: Partial<Record<Server, string>> = {};
    for (const server of order) {
      await settle();
      const cpuBefore = await cpuMsOf(servers[server].pid);
      const { result, peakGrowth } = await withPeakRss(servers[server].pid, () =>
        curlUpload(servers[server].baseUrl + uploadPath(server, 'bench-big'), source, 'big.bin'),
      );
      const cpu = (await cpuMsOf(servers[server].pid)) - cpuBefore;
      if (result.status !== 201) throw new Error(`${server}: big upload answered ${result.status}`);
      cookies[server] = result.cookie;
      record('upload', `upload ${plan.big / MiB} MiB`, 'MiB/s', 'higher', server, plan.big / MiB / result.seconds);
      // What the server spent, all its threads, user and system: see the README on its two modes.
      record('upload-cpu', '  server CPU per MiB', 'ms', 'lower', server, cpu / (plan.big / MiB));
      record('upload-rss', `  peak RSS growth, ${plan.big / MiB} MiB file`, 'MiB', 'lower', server, peakGrowth / MiB);
      // The module's and the stock code's are downloaded below.
      if (server !== 'module' && server !== 'stock') await discard(server, 'bench-big', result.cookie);
    }

    // Downloads of the same big file: the module, the stock code's sendFile, express.static on
    // the module's blob of that very file.
    const [stored] = await sql<{ storage_key: string }>(
      moduleDb,
      `SELECT storage_key FROM session_attachments WHERE bundle = 'bench-big' AND name = 'big.bin' ORDER BY updated_at DESC LIMIT 1`,
    );
    if (!stored) throw new Error('module: the big upload has no row');
    const blob = join('blobs', stored.storage_key.slice(0, 2), stored.storage_key);
    const downloads: Partial<Record<Server, () => ReturnType<typeof curlDownload>>> = {
      module: () => curlDownload(`${servers.module.baseUrl}/attachments/bench-big/big.bin`, cookies.module),
      stock: () => curlDownload(`${servers.stock.baseUrl}/baseline/bench-big/big.bin`),
      ceiling: () => curlDownload(`${servers.ceiling.baseUrl}/files/${blob}`),
    };
    for (const server of orderOf(_round, ['module', 'stock', 'ceiling'])) {
      // The uploads before left dirty pages (those of servers that do not fsync).
      await settle();
      const result = await downloads[server]!();
      if (result.status !== 200 || result.bytes !== plan.big)
        throw new Error(`${server}: download gave ${result.status}, ${result.bytes} bytes`);
      record(
        'download',
        `download ${plan.big / MiB} MiB (ceiling: express.static)`,
        'MiB/s',
        'higher',
        server,
        plan.big / MiB / result.seconds,
      );
    }
    for (const server of ['module', 'stock'] as const) await discard(server, 'bench-big', cookies[server]);

    // A smaller file's RSS growth and speed (the module's memory must stay flat in file size).
    for (const server of orderOf(_round, ['module', 'module-nondurable', 'stock', 'ceiling-durable'])) {
      await settle();
      const probeRun = await withPeakRss(servers[server].pid, () =>
        curlUpload(servers[server].baseUrl + uploadPath(server, 'probe'), probe, 'probe.bin'),
      );
      if (probeRun.result.status !== 201) throw new Error(`${server}: 64 MiB upload answered ${probeRun.result.status}`);
      record('probe', `upload ${plan.probe / MiB} MiB`, 'MiB/s', 'higher', server, plan.probe / MiB / probeRun.result.seconds);
      record('probe-rss', `  peak RSS growth, ${plan.probe / MiB} MiB file`, 'MiB', 'lower', server, probeRun.peakGrowth / MiB);
      await discard(server, 'probe', probeRun.result.cookie);
    }

    // The same big file over tus, in PATCHes of 8 MiB, against the plain multipart upload above.
    for (const server of orderOf(_round, ['module', 'module-nondurable'])) {
      await settle();
      const { result, peakGrowth } = await withPeakRss(servers[server].pid, () =>
        tusUploadFile(servers[server].baseUrl, 'bench-tus', source, plan.big, 'big.bin', TUS_PATCH, cookies[server]),
      );
      const stored = result.attachment ? (JSON.parse(result.attachment) as { size: number }) : undefined;
      if (result.status !== 204 || stored?.size !== plan.big)
        throw new Error(`${server}: tus upload answered ${result.status} (${result.attachment ?? 'no Attachment header'})`);
      record('tus-upload', TUS_LABEL, 'MiB/s', 'higher', server, plan.big / MiB / result.seconds);
      record('tus-upload-rss', `  peak RSS growth, tus ${plan.big / MiB} MiB`, 'MiB', 'lower', server, peakGrowth / MiB);
      await discard(server, 'bench-tus', cookies[server]);
    }
  });
}

/**
 * 32 visitors, one per connection, each with its own session (the module's cookie), each
 * uploading small.txt again and again: after the first upload, every one replaces. Every
 * server gets the same unmeasured warm-up burst first (JIT, connection pools).
 */
async function smallBursts(): Promise<void> {
  await inRounds('1 KiB bursts', async (_round, order) => {
    for (const server of order) {
      const url = servers[server].baseUrl + uploadPath(server, 'bench');
      const burst = async (seconds: number) => {
        const cookies = isModule(server) ? await visitorCookies(url, 32) : [];
        return cannon({
          url,
          method: 'POST',
          connections: 32,
          duration: seconds,
          headers: { 'content-type': multipartType },
          body: smallBody,
          setupClient: (client) => {
            const cookie = cookies.pop();
            if (cookie) client.setHeaders({ 'content-type': multipartType, cookie });
          },
        });
      };
      await burst(1);
      const paceBefore = machinePaceMs();
      const cpuBefore = await serverAndPostgresCpu(server);
      const result = await burst(plan.burstSeconds);
      const cpuAfter = await serverAndPostgresCpu(server);
      const paceAfter = machinePaceMs();
      if (result.non2xx > 0 || result.errors > 0)
        log(`  ${server}: ${result.non2xx} non-2xx, ${result.errors} errors in the 1 KiB burst`);
      record('small', '1 KiB uploads, 32 connections', 'req/s', 'higher', server, result.requests.average);
      record('small-p99', '  p99 latency', 'ms', 'lower', server, result.latency.p99);
      if (cpuBefore !== undefined && cpuAfter !== undefined)
        record(
          'small-cpu',
          '  CPU per request, server + PostgreSQL',
          'ms',
          'lower',
          server,
          ((cpuAfter - cpuBefore) * 1000) / result.requests.total,
        );
      // The machine's pace around this burst (see machine-pace.ts): a ratio near 1 in this row
      // says the two servers of a ratio above were measured on a machine of the same speed.
      record(
        'small-pace',
        '  machine pace: fixed work before and after, mean',
        'ms',
        'lower',
        server,
        (paceBefore + paceAfter) / 2,
      );
    }
  });
}

/**
 * CPU seconds so far of a server and of the PostgreSQL all servers share (only the measured
 * one runs, so the difference over a burst is that burst's); undefined when the database is
 * not a PostgreSQL of this machine.
 */
async function serverAndPostgresCpu(server: Server): Promise<number | undefined> {
  const postgresSeconds = await postgresCpuSeconds(new URL(process.env.DATABASE_URL!).port || '5432');
  return postgresSeconds === undefined ? undefined : (await cpuSecondsOf(servers[server].pid)) + postgresSeconds;
}

async function lists(): Promise<void> {
  await inRounds('lists', async (round) => {
    for (const server of orderOf(round, ['module', 'stock'])) {
      const url =
        server === 'module' ? `${servers.module.baseUrl}/attachments/listing` : `${servers.stock.baseUrl}/baseline/listing`;
      const cookie = server === 'module' ? listCookie : undefined;
      // One client at a time: the latency of a list, not of a queue of them; timed by curl, not
      // autocannon, whose own collections made the tail (see curlRepeat). The same number of
      // lists for both servers, so that the p99 is the same rank of each: the 15th-worst of
      // 1,500 in a full run (at about 200 lists a second, 7 s).
      // A warm-up, not measured (JIT, PostgreSQL's buffers), for both servers alike.
      await curlRepeat(url, plan.listCount / 5, cookie);
      const result = await curlRepeat(url, plan.listCount, cookie);
      record(
        'list',
        `list 1,000 of ${plan.listRows.toLocaleString('en')} rows, 1 client, p99`,
        'ms',
        'lower',
        server,
        result.p99,
      );
      // The typical list beside the tail.
      record('list-p50', '  p50', 'ms', 'lower', server, result.p50);
    }
  });
}

async function sweeps(): Promise<void> {
  await inRounds('sweeps', async (round) => {
    for (const placement of ['inline', 'stored'] as const) {
      await seedSweep(placement);
      await settle();
      // Who sweeps first alternates: the first meets whatever the machine is still doing.
      const order = [moduleSweep, stockSweep];
      for (const sweep of round % 2 ? order : order.reverse()) await sweep(placement);
    }
  });
}

if (runs('big')) await bigFiles();
if (runs('small')) await smallBursts();
if (runs('lists')) await lists();
if (runs('sweeps')) await sweeps();

if (runs('previews'))
  await inRounds('previews', () =>
    benchPreviews(servers.module, (key, label, unit, better, value) => record(key, label, unit, better, 'module', value), {
      photos: quick ? 3 : 10,
      cachedSeconds: quick ? 2 : 3,
    }),
  );

for (const server of Object.values(servers)) await server.stop();
// The S3 rows (bench/s3.ts): S3Storage against the direct SDK on one s3rver, their own table.
if (runs('s3')) await (await import('./s3.js')).benchS3({ quick, log });
for (const db of [moduleDb, nondurableDb, stockDb]) await db.drop();
await rm(work, { recursive: true, force: true });
await postgres?.stop();

// One table of medians, and the same as JSON.
const format = (value: number | undefined) =>
  value === undefined ? '' : value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);

/**
 * A ratio of two servers as the median of their per-round ratios, each of two figures measured
 * in the same round, minutes apart (the way the independent harness states them): a
 * round in which the whole machine ran slow slows both sides of its pair, where a ratio of
 * medians may pair one server's good round with the other's bad one. Undefined unless both
 * have a figure in every round (and a ratio is finite in at least one).
 */
function pairedRatio(a: number[] | undefined, b: number[] | undefined): { median: number; rounds: number[] } | undefined {
  if (!a || !b || a.length === 0 || a.length !== b.length) return undefined;
  const perRound = a.map((value, round) => value / b[round]!).filter(Number.isFinite);
  if (perRound.length === 0) return undefined;
  return { median: Number(median(perRound).toFixed(3)), rounds: perRound.map((value) => Number(value.toFixed(3))) };
}

const rows = [...metrics.entries()].map(([key, metric]) => {
  const medians = Object.fromEntries(
    Object.entries(metric.rounds).map(([server, values]) => [server, median(values)]),
  ) as Partial<Record<Server, number>>;
  const paired = RATIOS.flatMap(([label, a, b]) => {
    const value = pairedRatio(metric.rounds[a], metric.rounds[b]);
    return value ? [[label, value] as const] : [];
  });
  return {
    key,
    ...metric,
    medians,
    ratios: Object.fromEntries(paired.map(([label, value]) => [label, value.median])),
    ratioRounds: Object.fromEntries(paired.map(([label, value]) => [label, value.rounds])),
  };
});
// The tus row is stated against the same server's plain multipart upload of the same file.
const plainUpload = rows.find((row) => row.key === 'upload');
const tusUpload = rows.find((row) => row.key === 'tus-upload');
if (plainUpload && tusUpload)
  for (const server of ['module', 'module-nondurable'] as const) {
    const value = pairedRatio(tusUpload.rounds[server], plainUpload.rounds[server]);
    if (!value) continue;
    Object.assign(tusUpload.ratios, { [`tus/multipart (${server})`]: value.median });
    Object.assign(tusUpload.ratioRounds, { [`tus/multipart (${server})`]: value.rounds });
  }
const ratioCell = (value: number | undefined) => (value === undefined ? '' : `${value.toFixed(2)}×`);
const header = ['measure', 'unit', ...ALL_SERVERS, ...RATIOS.map(([label]) => label)];
const table = rows.map((row) => [
  row.label || `  ${row.key}`,
  row.unit,
  ...ALL_SERVERS.map((server) => format(row.medians[server])),
  ...RATIOS.map(([label]) => ratioCell(row.ratios[label])),
]);
const widths = header.map((title, column) => Math.max(title.length, ...table.map((line) => line[column]!.length)));
const line = (cells: string[]) =>
  cells.map((cell, column) => (column < 2 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ');
console.log(
  `\nnestjs-session-attachments bench${quick ? ' (--quick)' : ''}: medians of ${plan.rounds} rounds; ` +
    'each ratio is the median of the ratios of the same round',
);
for (const [server, description] of Object.entries(SERVERS)) console.log(`  ${server}: ${description}`);
console.log(line(header));
for (const cells of table) console.log(line(cells));
for (const [label, value] of Object.entries(tusUpload?.ratios ?? {})) console.log(`${TUS_LABEL}, ${label}: ${value.toFixed(2)}×`);
// The rounds behind each ratio: how far apart they are says how much a median can be trusted.
// (Not for the RSS rows: a growth of a megabyte or none makes any ratio of them noise.)
console.log('ratios per round:');
for (const row of rows.filter((row) => row.unit !== 'MiB')) {
  const ratios = Object.entries(row.ratioRounds).map(
    ([label, perRound]) => `${label} ${perRound.map((value) => value.toFixed(2)).join('/')}`,
  );
  if (ratios.length > 0) console.log(`  ${row.label.trim()}: ${ratios.join(', ')}`);
}
// The host's share in the big rows' spread: memory handed back during the run is slow to write
// into again (page-reporting.ts; the README's Benchmarks section).
const reportedAtEnd = await reportedKib();
const reportedDuringRun =
  reportedAtStart === undefined || reportedAtEnd === undefined ? undefined : (reportedAtEnd - reportedAtStart) / 1024 / 1024;
if (reportedDuringRun !== undefined)
  console.log(
    `free memory this machine handed back to its host during the run (Linux free page reporting): ${reportedDuringRun.toFixed(1)} GiB; ` +
      'writes into such memory are several times slower (bench/page-reporting.ts)',
  );
const json = {
  quick,
  plan,
  date: new Date().toISOString(),
  node: process.version,
  servers: SERVERS,
  results: rows,
  ...(reportedDuringRun === undefined ? {} : { pageReportingGiB: Number(reportedDuringRun.toFixed(2)) }),
};
await mkdir(join(projectRoot, 'bench', 'results'), { recursive: true });
await writeFile(join(projectRoot, 'bench', 'results', 'latest.json'), `${JSON.stringify(json, null, 2)}\n`);
console.log('written to bench/results/latest.json');
