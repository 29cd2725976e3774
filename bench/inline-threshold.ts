// `npm run build && node dist/bench/inline-threshold.js [--quick] [--rounds=N] [--seconds=S]`:
// where small files are better kept, measured on both databases. For each file size, the demo
// app as shipped (durable) with every file in its row (`inlineMaxSize: 1mb`, the most it takes)
// against the same app with every file in the DiskStorage (`inlineMaxSize: 0`): uploads/s by
// 8 visitors at once, each replacing its one file again and again, then downloads/s of those
// files. The two servers of a database take turns, in an order that alternates per round;
// medians over rounds and the ratio in-row / in-storage. The default threshold (README:
// `inlineMaxSize`) is the largest size at which rows win on both databases.
import autocannon from 'autocannon';
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { settle, startAloneRun } from './alone-run.js';
import { median, multipartHead, multipartTail, multipartType, startServer, visitorCookies, type BenchServer } from './support.js';
import { option } from './cli-options.js';

const KiB = 1024;
const quick = process.argv.includes('--quick');
const rounds = Number(option('rounds') ?? 3);
const seconds = Number(option('seconds') ?? (quick ? 2 : 5));
const SIZES = quick ? [4 * KiB, 256 * KiB] : [4 * KiB, 16 * KiB, 64 * KiB, 256 * KiB, 1024 * KiB];
const CONNECTIONS = 8;
const PLACEMENTS = { 'in-row': '1mb', 'in-storage': '0' } as const;
type Placement = keyof typeof PLACEMENTS;

function cannon(options: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((done, fail) => autocannon(options, (error: Error | null, result) => (error ? fail(error) : done(result))));
}

const { database, work, end } = await startAloneRun('inline-threshold', 0);
const servers: Array<{ kind: string; placement: Placement; server: BenchServer }> = [];
try {
  for (const kind of ['postgres', 'sqlite'] as const)
    for (const [placement, inlineMaxSize] of Object.entries(PLACEMENTS) as Array<[Placement, string]>) {
      const folder = join(work, `${kind}-${placement}`);
      await mkdir(folder, { recursive: true });
      // SQLite: no DATABASE_URL (an empty one counts as unset), a file of the server's own.
      const databaseEnv =
        kind === 'postgres' ? database.env : { DATABASE_URL: '', DATABASE_PATH: join(folder, 'attachments.sqlite') };
      const server = await startServer(`${kind} ${placement}`, 'module-server', {
        ...databaseEnv,
        ATTACHMENTS_DIR: folder,
        ATTACHMENTS_INLINE_MAX_SIZE: inlineMaxSize,
      });
      servers.push({ kind, placement, server });
    }

  const results = new Map<string, number[]>();
  const push = (key: string, value: number) => results.set(key, [...(results.get(key) ?? []), value]);
  for (const size of SIZES) {
    const name = `file-${size}.bin`;
    const body = Buffer.concat([Buffer.from(multipartHead('file', name)), randomBytes(size), Buffer.from(multipartTail)]);
    for (let round = 0; round < rounds; round += 1) {
      for (const kind of ['postgres', 'sqlite']) {
        const pair = servers.filter((entry) => entry.kind === kind);
        for (const { placement, server } of round % 2 ? pair.reverse() : pair) {
          await settle();
          const url = `${server.baseUrl}/attachments/size-${size}`;
          const cookies = await visitorCookies(url, CONNECTIONS);
          const downloads = [...cookies];
          // Every visitor stores the file once, so each upload measured replaces and each download finds it.
          for (const cookie of cookies) {
            const first = await fetch(url, { method: 'POST', headers: { 'content-type': multipartType, cookie }, body });
            if (first.status !== 201) throw new Error(`${kind} ${placement}: the first upload answered ${first.status}`);
          }
          const uploads = await cannon({
            url,
            method: 'POST',
            connections: CONNECTIONS,
            duration: seconds,
            body,
            headers: { 'content-type': multipartType },
            setupClient: (client) => client.setHeaders({ 'content-type': multipartType, cookie: cookies.pop()! }),
          });
          const reads = await cannon({
            url: `${url}/${name}`,
            connections: CONNECTIONS,
            duration: seconds,
            setupClient: (client) => client.setHeaders({ cookie: downloads.pop()! }),
          });
          if (uploads.non2xx + uploads.errors + reads.non2xx + reads.errors > 0)
            throw new Error(
              `${kind} ${placement} ${size} B: ${uploads.non2xx + reads.non2xx} non-2xx, ${uploads.errors + reads.errors} errors`,
            );
          push(`${kind} ${size} ${placement} upload`, uploads.requests.average);
          push(`${kind} ${size} ${placement} download`, reads.requests.average);
        }
      }
    }
    for (const kind of ['postgres', 'sqlite'])
      for (const step of ['upload', 'download']) {
        const [row, stored] = (['in-row', 'in-storage'] as const).map((placement) =>
          median(results.get(`${kind} ${size} ${placement} ${step}`)!),
        ) as [number, number];
        console.log(
          `${kind.padEnd(8)} ${String(size / KiB).padStart(5)} KiB ${step.padEnd(8)}: in-row ${row.toFixed(0).padStart(5)}/s, ` +
            `in-storage ${stored.toFixed(0).padStart(5)}/s, in-row/in-storage ${(row / stored).toFixed(2)}×`,
        );
      }
  }
} finally {
  for (const { server } of servers) await server.stop();
  await end();
}
