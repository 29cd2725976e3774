// `npm run build && node dist/bench/small-cpu.js [--seconds=5] [--rounds=4]`: where the
// machine's CPU goes per 1 KiB upload (32 connections, one visitor per connection, as the
// bench's small burst), per process: the server, PostgreSQL (the postmaster and every backend
// and helper of the run's own server) and the load generator (this process). CPU time per
// request is read from /proc before and after each burst, so it holds when other work shares
// the cores, where req/s does not. Also p50, p99 and the write-ahead log PostgreSQL wrote per
// request (pg_current_wal_lsn before and after).
//
// A/B: `SMALL_CPU_BUILDS=before=dist-before` adds the module server of another build (a copy of
// `dist` made from another commit, inside the checkout so that node_modules resolves), run
// interleaved with this build's in the same rounds. `SMALL_CPU_ENV_<NAME>=K=V,K=V` adds a
// module server of this build with that environment. `--servers=module,floor` adds the same app
// with a route that does only what any upload route of this stack must (session, busboy, hash,
// JSON answer; bench/servers/floor-server.ts): the stack's share of the module's CPU.
import autocannon from 'autocannon';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, withClient } from '../test/support/databases.js';
import { startEmbeddedPostgres, type RunningPostgres } from '../test/support/postgres-server.js';
import { watchClientCollections } from './client-collections.js';
import { machinePaceMs } from './machine-pace.js';
import {
  contextSwitchesOf,
  processCountersOf,
  median,
  multipartHead,
  multipartTail,
  multipartType,
  otherBuilds,
  postgresCpuSeconds,
  startServer,
  visitorCookies,
  type BenchServer,
} from './support.js';
import { option } from './cli-options.js';

const argument = (name: string, fallback: number) => Number(option(name) ?? fallback);
const seconds = argument('seconds', 5);
const rounds = argument('rounds', 4);
// `--rate=N`: a fixed offered load (requests per second over all connections) instead of as
// fast as possible, so that every server batches alike and CPU per request compares fairly
// when other work on the machine changes how fast each one runs.
const rate = argument('rate', 0);
const only = process.argv
  .find((arg) => arg.startsWith('--servers='))
  ?.slice('--servers='.length)
  .split(',');

// `--statements`: pg_stat_statements (nested statements too, those of the put function) and
// per-function times, printed per statement at the end (embedded server only: it restarts it).
const statements = process.argv.includes('--statements');
// Stopped early, the servers and the embedded PostgreSQL stop too (their 'exit' hooks).
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
let postgres: RunningPostgres | undefined;
if (!process.env.DATABASE_URL) {
  postgres = await startEmbeddedPostgres();
  process.env.DATABASE_URL = postgres.url;
  if (statements) {
    for (const setting of [
      `shared_preload_libraries = 'pg_stat_statements'`,
      `pg_stat_statements.track = 'all'`,
      `track_functions = 'pl'`,
    ])
      await withClient(postgres.url, (client) => client.query(`ALTER SYSTEM SET ${setting}`));
    await postgres.pause();
    await postgres.resume();
    await withClient(postgres.url, (client) => client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements'));
  }
}
const postgresPort = new URL(process.env.DATABASE_URL).port;
const work = await mkdtemp(join(tmpdir(), 'attachments-small-cpu-'));

interface Plan {
  name: string;
  /** A server of bench/servers, without `.js`. */
  script: string;
  env: Record<string, string>;
  path: string;
  /** Where a visitor gets its session cookie (one per connection); none when absent. */
  cookiePath?: string;
  /** Started only when `--servers` names it. */
  optional?: boolean;
  /** Another build's `dist` copy (SMALL_CPU_BUILDS); this build's when absent. */
  build?: string;
}
const plans: Plan[] = [];
async function modulePlan(name: string, script: string, env: Record<string, string> = {}): Promise<Plan> {
  const db = await createTestDatabase('postgres');
  const dir = join(work, name);
  await mkdir(dir, { recursive: true });
  return {
    name,
    script,
    env: { ...db.env, ATTACHMENTS_DIR: dir, ...env },
    path: '/attachments/bench',
    cookiePath: '/attachments/bench',
  };
}
plans.push(await modulePlan('module', 'module-server'));
// The same app with a route that only reads the session, parses and hashes (floor-server.ts):
// the stack's share of a small upload, beside the module's. Run only when asked for.
plans.push({ ...(await modulePlan('floor', 'floor-server')), path: '/floor/bench', optional: true });
for (const { name, build } of otherBuilds('SMALL_CPU_BUILDS'))
  plans.push({ ...(await modulePlan(name, 'module-server')), build });
for (const [key, value] of Object.entries(process.env)) {
  if (!key.startsWith('SMALL_CPU_ENV_') || !value) continue;
  // Split at the first '=' only: a value may hold one itself (NODE_OPTIONS=--flag=value).
  const env = Object.fromEntries(
    value.split(',').map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
  );
  plans.push(await modulePlan(key.slice('SMALL_CPU_ENV_'.length).toLowerCase(), 'module-server', env));
}
{
  const db = await createTestDatabase('postgres');
  const dir = join(work, 'stock');
  await mkdir(dir, { recursive: true });
  plans.push({
    name: 'stock',
    script: 'multer-server',
    env: { ...db.env, UPLOAD_DIR: dir },
    path: '/baseline/bench',
  });
}
{
  const dir = join(work, 'ceiling-durable');
  await mkdir(dir, { recursive: true });
  plans.push({
    name: 'ceiling-durable',
    script: 'ceiling-server',
    env: { UPLOAD_DIR: dir, DURABLE: '1' },
    path: '/upload',
  });
}
const chosen = plans.filter((plan) => (only ? only.includes(plan.name) : !plan.optional));
type PlannedServer = BenchServer & Pick<Plan, 'path' | 'cookiePath'>;
const servers: PlannedServer[] = [];
for (const plan of chosen) {
  const started = await startServer(plan.name, plan.script, plan.env, plan.build);
  servers.push({ ...started, path: plan.path, ...(plan.cookiePath ? { cookiePath: plan.cookiePath } : {}) });
}

async function postgresCpu(): Promise<number> {
  const seconds = await postgresCpuSeconds(postgresPort);
  if (seconds === undefined) throw new Error(`no PostgreSQL of this machine listens on port ${postgresPort}`);
  return seconds;
}

const body = Buffer.concat([Buffer.from(multipartHead('file', 'small.txt')), randomBytes(1024), Buffer.from(multipartTail)]);

async function burst(
  server: PlannedServer,
  duration: number,
  onResponse?: (latencyMs: number) => void,
): Promise<autocannon.Result> {
  const url = server.baseUrl + server.path;
  const cookies = server.cookiePath ? await visitorCookies(server.baseUrl + server.cookiePath, 32) : [];
  return new Promise((done, fail) => {
    const instance = autocannon(
      {
        url,
        method: 'POST',
        connections: 32,
        duration,
        ...(rate > 0 ? { overallRate: rate } : {}),
        headers: { 'content-type': multipartType },
        body,
        setupClient: (client) => {
          const cookie = cookies.pop();
          if (cookie) client.setHeaders({ 'content-type': multipartType, cookie });
        },
      },
      (error: Error | null, result) => (error ? fail(error) : done(result)),
    );
    if (onResponse) instance.on('response', (_client, _status, _bytes, latencyMs: number) => onResponse(latencyMs));
  });
}

/** Where PostgreSQL's write-ahead log is now, in bytes (what a burst adds is what it wrote). */
const walPosition = () =>
  withClient(process.env.DATABASE_URL!, async (client) => {
    const { rows } = await client.query<{ bytes: string }>(`SELECT pg_current_wal_lsn() - '0/0' AS bytes`);
    return Number(rows[0]!.bytes);
  });

interface Sample {
  rps: number;
  p50: number;
  p99: number;
  wal: number;
  server: number;
  postgres: number;
  loadgen: number;
  /** The machine's pace around the burst: ms of fixed work (machine-pace.ts). */
  pace: number;
  /** The server main thread's context switches per request: fewer when it handles several per wake-up. */
  switches: number;
  /** Of `server`, the seconds in system mode. */
  system: number;
  /** The server's minor page faults per request (memory it touched for the first time). */
  faults: number;
}
const samples = new Map<string, Sample[]>();
const ms = (value: number) => (value * 1000).toFixed(3);
for (let round = 0; round < rounds; round += 1) {
  for (let index = 0; index < servers.length; index += 1) {
    const server = servers[(index + round) % servers.length]!;
    await burst(server, 1);
    const paceBefore = machinePaceMs();
    const walBefore = await walPosition();
    const [before, switchesBefore, postgresBefore, loadBefore] = [
      await processCountersOf(server.pid),
      await contextSwitchesOf(server.pid),
      await postgresCpu(),
      process.cpuUsage(),
    ];
    const client = watchClientCollections();
    const result = await burst(server, seconds, client.response);
    const clientCollections = client.stop();
    const [after, switchesAfter, postgresAfter, load] = [
      await processCountersOf(server.pid),
      await contextSwitchesOf(server.pid),
      await postgresCpu(),
      process.cpuUsage(loadBefore),
    ];
    const walAfter = await walPosition();
    const pace = (paceBefore + machinePaceMs()) / 2;
    if (result.non2xx > 0 || result.errors > 0)
      process.stderr.write(`${server.name}: ${result.non2xx} non-2xx, ${result.errors} errors\n`);
    const requests = result.requests.total;
    const sample: Sample = {
      rps: result.requests.average,
      p50: result.latency.p50,
      p99: result.latency.p99,
      wal: (walAfter - walBefore) / requests,
      server: (after.user + after.system - before.user - before.system) / requests,
      postgres: (postgresAfter - postgresBefore) / requests,
      loadgen: (load.user + load.system) / 1e6 / requests,
      pace,
      switches: (switchesAfter - switchesBefore) / requests,
      system: (after.system - before.system) / requests,
      faults: (after.minorFaults - before.minorFaults) / requests,
    };
    samples.set(server.name, [...(samples.get(server.name) ?? []), sample]);
    process.stderr.write(
      `round ${round + 1} ${server.name.padEnd(16)} ${sample.rps.toFixed(0).padStart(5)} req/s  p50 ${String(sample.p50).padStart(4)} p99 ${String(sample.p99).padStart(4)} ms  ` +
        `CPU ms/req: server ${ms(sample.server)} (system ${ms(sample.system)})  postgres ${ms(sample.postgres)}  loadgen ${ms(sample.loadgen)}  ` +
        `WAL ${sample.wal.toFixed(0)} B/req  switches ${sample.switches.toFixed(2)}/req  faults ${sample.faults.toFixed(2)}/req  pace ${pace.toFixed(0)} ms  (load ${loadavg()[0]!.toFixed(2)})  ` +
        `client GCs ${clientCollections.collections}, met by ${(100 * clientCollections.slowestMeetingOne).toFixed(0)}% of the slowest 1%\n`,
    );
  }
}
if (statements)
  await withClient(process.env.DATABASE_URL, async (client) => {
    const { rows } = await client.query<{ calls: string; mean: number; total: number; query: string }>(
      `SELECT calls, mean_exec_time AS mean, total_exec_time AS total, left(regexp_replace(query, '\\s+', ' ', 'g'), 110) AS query ` +
        `FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 15`,
    );
    console.log('statements by total time (ms):');
    for (const row of rows)
      console.log(`${row.total.toFixed(0).padStart(8)} ${row.calls.padStart(7)} × ${row.mean.toFixed(3)}  ${row.query}`);
  });
for (const server of servers) await server.stop();
await rm(work, { recursive: true, force: true });
await postgres?.stop();

console.log(`medians of ${rounds} rounds of ${seconds} s, CPU ms per request`);
console.log('server            req/s   p50   p99   server  postgres  loadgen    total  WAL B/req  switches/req  pace ms');
for (const [name, list] of samples) {
  const of = (key: keyof Sample) => median(list.map((sample) => sample[key]));
  console.log(
    `${name.padEnd(16)} ${of('rps').toFixed(0).padStart(6)} ${of('p50').toFixed(0).padStart(5)} ${of('p99').toFixed(0).padStart(5)} ${ms(of('server')).padStart(8)} ${ms(of('postgres')).padStart(9)} ${ms(of('loadgen')).padStart(8)} ${ms(of('server') + of('postgres') + of('loadgen')).padStart(8)} ${of('wal').toFixed(0).padStart(10)} ${of('switches').toFixed(2).padStart(13)} ${of('pace').toFixed(0).padStart(8)}`,
  );
}
