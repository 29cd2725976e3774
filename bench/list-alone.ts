// `npm run build && node dist/bench/list-alone.js [--rounds=6] [--lists=1000]`: the list route
// alone, for comparing builds. `LIST_BUILDS=before=dist-before` (a copy of `dist` made from
// another commit, inside the checkout so that node_modules resolves) adds the module server of
// that build; every server lists its own visitor's 1,000 attachments in one database, one
// client at a time (curl, see curlRepeat), in turns whose order alternates per round, and the
// server's CPU per list is read from /proc around each turn. Prints each round, then for each other build the
// median of the per-round ratios to this build (CPU per list, p50, p99).
import { join } from 'node:path';
import { startAloneRun } from './alone-run.js';
import { curlRepeat } from './curl-client.js';
import { withClient } from '../test/support/databases.js';
import { cpuSecondsOf, median, otherBuilds, SEED_LISTING_SQL, startServer, uploadFile, type BenchServer } from './support.js';
import { option } from './cli-options.js';

const MiB = 1024 * 1024;
const rounds = Number(option('rounds') ?? 6);
const lists = Number(option('lists') ?? 1000);
const builds = [{ name: 'this', build: 'dist' }, ...otherBuilds('LIST_BUILDS')];

const { database, work, source, end } = await startAloneRun('list-alone', MiB);
const sql = (text: string, values: unknown[] = []) =>
  withClient(database.env.DATABASE_URL!, (client) => client.query(text, values)).then((result) => result.rows as unknown[]);

interface Lister {
  name: string;
  server: BenchServer;
  url: string;
  cookie: string;
  cpu: number[];
  p50: number[];
  p99: number[];
}

const listers: Lister[] = [];
try {
  for (const { name, build } of builds) {
    const server = await startServer(name, 'module-server', { ...database.env, ATTACHMENTS_DIR: join(work, name) }, build);
    const url = `${server.baseUrl}/attachments/listing`;
    const seed = await uploadFile(url, source, MiB, 'seed.bin');
    const [row] = (await sql(
      `SELECT session_key FROM session_attachments WHERE bundle = 'listing' AND name = 'seed.bin' ORDER BY created_at DESC LIMIT 1`,
    )) as [{ session_key: string }];
    await sql(SEED_LISTING_SQL, [row.session_key, Date.now(), name]);
    listers.push({ name, server, url, cookie: seed.cookie!, cpu: [], p50: [], p99: [] });
  }
  await sql('VACUUM ANALYZE session_attachments');
  // Warm-up, not measured (JIT, PostgreSQL's buffers), for every server alike.
  for (const lister of listers) await curlRepeat(lister.url, lists / 2, lister.cookie);
  for (let round = 0; round < rounds; round += 1) {
    const order = round % 2 === 0 ? listers : [...listers].reverse();
    for (const lister of order) {
      const before = await cpuSecondsOf(lister.server.pid);
      const result = await curlRepeat(lister.url, lists, lister.cookie);
      lister.cpu.push((1000 * ((await cpuSecondsOf(lister.server.pid)) - before)) / lists);
      lister.p50.push(result.p50);
      lister.p99.push(result.p99);
    }
    console.log(
      `round ${round + 1}: ` +
        listers
          .map(
            (lister) =>
              `${lister.name} ${lister.cpu.at(-1)!.toFixed(2)} ms CPU/list, p50 ${lister.p50.at(-1)!.toFixed(1)} ms, p99 ${lister.p99.at(-1)!.toFixed(1)} ms`,
          )
          .join(' | '),
    );
  }
  const [reference] = listers as [Lister];
  for (const other of listers.slice(1)) {
    const paired = (key: 'cpu' | 'p50' | 'p99') =>
      median(reference[key].map((value, index) => value / other[key][index]!)).toFixed(2);
    console.log(
      `this/${other.name}, medians of per-round ratios: CPU per list ${paired('cpu')}×, p50 ${paired('p50')}×, p99 ${paired('p99')}×`,
    );
  }
  console.log(`medians: ${listers.map((lister) => `${lister.name} ${median(lister.cpu).toFixed(2)} ms CPU/list`).join(', ')}`);
} finally {
  for (const lister of listers) await lister.server.stop();
  await end();
}
