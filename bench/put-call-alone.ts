// `npm run build && node dist/bench/put-call-alone.js [--rounds=6] [--seconds=4]
// [--calls=put,put-minimal,put-pipelined,statements,transaction,insert,select-1] [--pipelines=8]`: what the module's put call
// of a 1 KiB upload costs PostgreSQL and its client, against other ways to do it and simpler
// statements, with no app in between. 32 clients, each its own visitor replacing small.txt
// again and again (as the bench's 1 KiB burst), each statement a named prepared one;
// PostgreSQL's CPU per call (all its processes, from /proc) and this process's (pg's driver
// and sockets: what the same calls cost an app's server) around each turn, in turns whose order
// alternates per round; medians and the median of the per-round ratios to `put`.
//
// The calls: `put`, the installed session_attachments_put; `put-minimal`, the same function
// with its read of the session's rows (quotas, replaced rows, adoption) and its removal of
// previews cut out, so what is left is the session's lock, the row's write (its INSERT ... ON
// CONFLICT DO UPDATE, as it knows no row id) and the function itself: about the least a put of
// this design can cost; `statements`, the put's work as plain statements in one transaction
// (BEGIN, the lock, the read, the previews, the row, COMMIT: six round trips instead of one);
// `transaction`, BEGIN, a plain INSERT of the same row into a table of its own, COMMIT: the
// stock code's three statements; `insert`, the INSERT alone; `select-1`, a round trip that
// does nothing; `put-pipelined`, the put with the 32 visitors sharing `--pipelines` connections
// in pg's pipeline mode (pg 8.23: a call is written without waiting for the answers before it),
// which is what sharing a few connections among all uploads instead of pooling them would cost.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { withClient } from '../test/support/databases.js';
import { startAloneRun } from './alone-run.js';
import { median, postgresCpuSeconds } from './support.js';
import { option } from './cli-options.js';

const rounds = Number(option('rounds') ?? 6);
const seconds = Number(option('seconds') ?? 4);
const CLIENTS = 32;

const { database, end } = await startAloneRun('put-call-alone', 0);
const url = database.env.DATABASE_URL!;
const port = new URL(url).port || '5432';
const migrated = new DataSource({ ...database.options, migrationsRun: true });
await migrated.initialize();
await migrated.destroy();

/**
 * The installed function under another name, its session read replaced by fixed values (a
 * bundle of one file, small.txt, nothing held, no adoption) and its preview removal skipped.
 * Fails loudly when the function no longer reads as expected (a later migration rewrote it).
 */
function minimalPut(definition: string): string {
  const read = /SELECT count\(\*\) FILTER[\s\S]*?WHERE a\.session_key = _session_key;/.exec(definition);
  if (!read || !definition.includes('IF old_keys IS NOT NULL THEN'))
    throw new Error('put-minimal: session_attachments_put no longer has the read and the preview removal this cuts out');
  return definition
    .replace(/session_attachments_put\(/, 'session_attachments_put_minimal(')
    .replace(
      read[0],
      `SELECT 1, 0, 0, ARRAY['small.txt']::varchar[], NULL::varchar[], NULL::varchar[], NULL::varchar ` +
        `INTO in_bundle, bytes_held, bytes_replaced, old_names, old_ids, old_keys, adopter;`,
    )
    .replace('IF old_keys IS NOT NULL THEN', 'IF false THEN');
}

await withClient(url, async (client) => {
  const { rows } = await client.query<{ definition: string }>(
    `SELECT pg_get_functiondef('session_attachments_put'::regproc) AS definition`,
  );
  await client.query(minimalPut(rows[0]!.definition));
  await client.query(
    `CREATE TABLE plain_uploads (id text PRIMARY KEY, session_key text, name text, content bytea, updated_at bigint)`,
  );
});

const PUT_ARGUMENTS = Array.from({ length: 17 }, (_, index) => `$${index + 1}`).join(', ');
/** One upload of small.txt by one visitor: what the put call carries. */
interface Upload {
  lock: [namespace: number, key: number];
  sessionKey: string;
  bundle: string;
  id: string;
  name: string;
  mimetype: string;
  size: number;
  sha256: string;
  storageKey: string;
  content: Buffer;
  now: number;
  adoptedSince: number;
}

function uploadOf(visitor: number, content: Buffer): Upload {
  return {
    lock: [1, visitor],
    sessionKey: `visitor-${visitor}`,
    bundle: 'draft',
    id: randomUUID(),
    name: 'small.txt',
    mimetype: 'text/plain',
    size: content.byteLength,
    sha256: createHash('sha256').update(content).digest('hex'),
    storageKey: `inline:${randomUUID()}`,
    content,
    now: Date.now(),
    adoptedSince: Date.now() - 60_000,
  };
}

/** The put function's 17 arguments for one file (limits: 100 files, 1 GiB, 10 bundles). */
function putValues(upload: Upload): unknown[] {
  return [
    ...upload.lock,
    upload.sessionKey,
    upload.bundle,
    [upload.id],
    [upload.name],
    [upload.mimetype],
    [upload.size],
    [upload.sha256],
    [upload.storageKey],
    upload.content,
    [upload.size],
    upload.now,
    100,
    1024 ** 3,
    10,
    upload.adoptedSince,
  ];
}
const insertRow = (visitor: number, content: Buffer) => ({
  name: 'plain-insert',
  text: 'INSERT INTO plain_uploads VALUES ($1, $2, $3, $4, $5)',
  values: [randomUUID(), `visitor-${visitor}`, 'small.txt', content, Date.now()],
});

// The put's work as plain statements in one transaction (`statements`): the lock, then the
// function's read of the session's rows (its own statement, so that it sees what committed
// before the lock), the previews of replaced files, the row's update or insert, the commit.
const IN_BUNDLE = 'a.bundle = $2 AND a.name = ANY ($3)';
const SESSION_READ =
  `SELECT count(*) FILTER (WHERE a.bundle = $2) AS in_bundle, coalesce(sum(a.size), 0) AS bytes_held, ` +
  `coalesce(sum(a.size) FILTER (WHERE ${IN_BUNDLE}), 0) AS bytes_replaced, array_agg(a.name) FILTER (WHERE ${IN_BUNDLE}) AS old_names, ` +
  `array_agg(a.id) FILTER (WHERE ${IN_BUNDLE}) AS old_ids, array_agg(a.storage_key) FILTER (WHERE ${IN_BUNDLE}) AS old_keys, ` +
  `(SELECT d.into_key FROM session_attachment_adoptions d WHERE d.from_key = $1 AND d.adopted_at >= $4) AS adopter ` +
  `FROM session_attachments a WHERE a.session_key = $1`;
const ROW_UPDATE =
  'UPDATE session_attachments SET mimetype = $1, size = $2, sha256 = $3, storage_key = $4, content = $5, updated_at = $6, ' +
  'claim = NULL, claimed_at = NULL WHERE id = $7 RETURNING id, created_at';
const ROW_INSERT =
  'INSERT INTO session_attachments (mimetype, size, sha256, storage_key, content, created_at, updated_at, id, session_key, bundle, name) ' +
  'VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9, $10) RETURNING id, created_at';

type Call = (client: pg.Client, visitor: number, content: Buffer) => Promise<unknown>;
const CALLS: Record<string, Call> = {
  put: (client, visitor, content) =>
    client.query({
      name: 'put',
      text: `SELECT * FROM session_attachments_put(${PUT_ARGUMENTS})`,
      values: putValues(uploadOf(visitor, content)),
    }),
  'put-minimal': (client, visitor, content) =>
    client.query({
      name: 'put-minimal',
      text: `SELECT * FROM session_attachments_put_minimal(${PUT_ARGUMENTS})`,
      values: putValues(uploadOf(visitor, content)),
    }),
  transaction: async (client, visitor, content) => {
    await client.query('BEGIN');
    await client.query(insertRow(visitor, content));
    await client.query('COMMIT');
  },
  statements: async (client, visitor, content) => {
    const upload = uploadOf(visitor, content);
    await client.query('BEGIN');
    try {
      await client.query({ name: 'statements-lock', text: 'SELECT pg_advisory_xact_lock($1, $2)', values: upload.lock });
      const { rows } = await client.query<{ old_ids: string[] | null; old_keys: string[] | null }>({
        name: 'statements-read',
        text: SESSION_READ,
        values: [upload.sessionKey, upload.bundle, [upload.name], upload.adoptedSince],
      });
      const oldKeys = rows[0]?.old_keys;
      if (oldKeys)
        await client.query({
          name: 'statements-previews',
          text: 'DELETE FROM session_attachment_previews WHERE source_key = ANY ($1) RETURNING storage_key',
          values: [oldKeys],
        });
      const oldId = rows[0]?.old_ids?.[0];
      const row = [upload.mimetype, upload.size, upload.sha256, upload.storageKey, upload.content, upload.now];
      const updated = oldId
        ? await client.query({ name: 'statements-update', text: ROW_UPDATE, values: [...row, oldId] })
        : undefined;
      if (!updated?.rowCount)
        await client.query({
          name: 'statements-insert',
          text: ROW_INSERT,
          values: [...row, upload.id, upload.sessionKey, upload.bundle, upload.name],
        });
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    }
  },
  insert: (client, visitor, content) => client.query(insertRow(visitor, content)),
  'select-1': (client) => client.query({ name: 'select-1', text: 'SELECT 1' }),
};
// The same call as `put`; `turn` gives it its shared pipelined connections.
CALLS['put-pipelined'] = CALLS.put!;
const PIPELINES = Number(option('pipelines') ?? 8);
const chosen = option('calls')?.split(',') ?? Object.keys(CALLS);
const unknown = chosen.filter((name) => !(name in CALLS));
if (unknown.length > 0)
  throw new Error(`--calls: no call named ${unknown.join(', ')} (there are ${Object.keys(CALLS).join(', ')})`);

async function turn(name: string): Promise<{ perSecond: number; cpuMs: number; clientMs: number }> {
  const call = CALLS[name]!;
  const pipelined = name.endsWith('-pipelined');
  const connections = await Promise.all(
    Array.from({ length: pipelined ? PIPELINES : CLIENTS }, async () => {
      const client = new pg.Client({ connectionString: url, pipeline: pipelined });
      await client.connect();
      return client;
    }),
  );
  const clients = Array.from({ length: CLIENTS }, (_, visitor) => connections[visitor % connections.length]!);
  try {
    // One unmeasured call each: every connection prepares its statements and compiles the function.
    await Promise.all(clients.map((client, visitor) => call(client, visitor, randomBytes(1024))));
    const before = await postgresCpuSeconds(port);
    if (before === undefined) throw new Error(`no PostgreSQL of this machine listens on port ${port}`);
    const clientBefore = process.cpuUsage();
    let calls = 0;
    const until = performance.now() + seconds * 1000;
    await Promise.all(
      clients.map(async (client, visitor) => {
        while (performance.now() < until) {
          await call(client, visitor, randomBytes(1024));
          calls += 1;
        }
      }),
    );
    const client = process.cpuUsage(clientBefore);
    const after = (await postgresCpuSeconds(port))!;
    return {
      perSecond: calls / seconds,
      cpuMs: ((after - before) * 1000) / calls,
      clientMs: (client.user + client.system) / 1000 / calls,
    };
  } finally {
    await Promise.all(connections.map((client) => client.end()));
  }
}

const cpu = new Map<string, number[]>(chosen.map((name) => [name, []]));
const clientCpu = new Map<string, number[]>(chosen.map((name) => [name, []]));
for (let round = 0; round < rounds; round += 1) {
  for (const name of round % 2 === 0 ? chosen : [...chosen].reverse()) {
    const { perSecond, cpuMs, clientMs } = await turn(name);
    cpu.get(name)!.push(cpuMs);
    clientCpu.get(name)!.push(clientMs);
    process.stderr.write(
      `round ${round + 1} ${name.padEnd(12)} ${perSecond.toFixed(0).padStart(6)} calls/s  CPU per call: PostgreSQL ` +
        `${cpuMs.toFixed(3)} ms, client ${clientMs.toFixed(3)} ms\n`,
    );
  }
}
await end();

// The client's CPU (this process: pg's driver, its sockets) stands for what the same calls cost
// an app's server besides PostgreSQL: more round trips cost it more.
const ratioToPut = (of: Map<string, number[]>, values: number[]) => {
  const put = of.get('put');
  return put ? ` (${median(values.map((value, index) => value / put[index]!)).toFixed(2)}× put)` : '';
};
console.log(`medians of ${rounds} rounds of ${seconds} s, ${CLIENTS} clients; CPU per call`);
for (const name of chosen) {
  const server = cpu.get(name)!;
  const client = clientCpu.get(name)!;
  console.log(
    `${name.padEnd(12)} PostgreSQL ${median(server).toFixed(3)} ms${ratioToPut(cpu, server)}, ` +
      `client ${median(client).toFixed(3)} ms${ratioToPut(clientCpu, client)}`,
  );
}
