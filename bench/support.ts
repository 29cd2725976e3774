// Bench plumbing: servers as child processes, their memory, and one HTTP upload or download.
import { spawn, type ChildProcess } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { freePort } from '../test/support/postgres-server.js';

export const projectRoot = resolve(import.meta.dirname, '../..');

export interface BenchServer {
  name: string;
  pid: number;
  baseUrl: string;
  stop(): Promise<void>;
}

/**
 * `BENCH_PROFILE=<folder>` runs every server under `node --cpu-prof`, writing one profile per
 * server there when it stops (open them in Chrome DevTools or speedscope).
 */
export const profileArgs = process.env.BENCH_PROFILE
  ? ['--cpu-prof', `--cpu-prof-dir=${resolve(process.env.BENCH_PROFILE)}`]
  : [];

/**
 * `BENCH_HEAP_PROFILE=<folder>` preloads bench/heap-sampling.ts into every server: one sampled
 * allocation profile per server there when it stops, collected objects included.
 */
const heapProfileArgs = process.env.BENCH_HEAP_PROFILE
  ? [`--import=${pathToFileURL(join(projectRoot, 'dist/bench/heap-sampling.js')).href}`]
  : [];

/**
 * The V8 flag the demo's `npm start` runs with (package.json; a unit test keeps the two equal),
 * given to every server of the bench alike, the stock code's and the ceilings' too.
 * Why: a Nest app's heap is about 32 MB; after a minute idle V8 sets the old generation's
 * limit about 10 MB above it, and a big transfer then ran a full collection after nearly every
 * young one (42 to 57 per 1 GiB upload, GC 40 % of the main thread; 160-180 MiB/s against
 * 306 MiB/s with this flag and 3 full collections; `node dist/bench/upload-alone.js --idle=90`).
 */
export const SERVER_NODE_FLAGS = ['--initial-old-space-size=128'];

/**
 * `BENCH_SERVER_FLAGS="--trace-gc ..."`: more node flags for every server (a diagnosis, never a
 * measured run), and `BENCH_SERVER_LOGS=<folder>` keeps each server's standard output there as
 * `<name>.log` (where --trace-gc writes).
 */
const extraServerFlags = process.env.BENCH_SERVER_FLAGS?.split(' ').filter(Boolean) ?? [];
const serverLogs = process.env.BENCH_SERVER_LOGS ? resolve(process.env.BENCH_SERVER_LOGS) : undefined;

/**
 * Starts `<build>/bench/servers/<script>.js` and waits for its "ready" line. `build` is this
 * build's `dist` unless another is named (a copy of `dist` made at another commit, inside the
 * checkout so that node_modules resolves; see `otherBuilds`).
 */
export async function startServer(
  name: string,
  script: string,
  env: Record<string, string>,
  build = 'dist',
): Promise<BenchServer> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    [...profileArgs, ...heapProfileArgs, ...SERVER_NODE_FLAGS, ...extraServerFlags, `${build}/bench/servers/${script}.js`],
    {
      cwd: projectRoot,
      env: {
        ...process.env,
        ...env,
        PORT: String(port),
        BENCH_SERVER_NAME: name,
        ...(process.env.BENCH_HEAP_PROFILE ? { BENCH_HEAP_PROFILE: resolve(process.env.BENCH_HEAP_PROFILE) } : {}),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  if (serverLogs) child.stdout!.pipe(createWriteStream(join(serverLogs, `${name}.log`)));
  await new Promise<void>((ready, fail) => {
    child.once('exit', (code) => fail(new Error(`${name} exited with ${code} before it was ready`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) ready();
    });
  });
  child.removeAllListeners('exit');
  // A bench that fails half-way must not leave servers behind.
  process.once('exit', () => child.kill('SIGKILL'));
  return {
    name,
    pid: child.pid!,
    baseUrl: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise((done) => {
        child.once('exit', () => done());
        child.kill('SIGTERM');
      }),
  };
}

/**
 * Other builds to compare with this one, from an environment variable of `name=folder` pairs
 * separated by commas (`SMALL_CPU_BUILDS=before=var/dist-before`): each folder a copy of `dist`.
 */
export function otherBuilds(variable: string): { name: string; build: string }[] {
  return (process.env[variable] ?? '')
    .split(',')
    .filter(Boolean)
    .map((entry) => {
      const [name, build] = entry.split('=');
      if (!name || !build) throw new Error(`${variable}: "${entry}" is not name=folder`);
      return { name, build };
    });
}

/**
 * The statement that gives the list bench's visitor 999 more attachments in the bundle
 * `listing` (the seed upload is the thousandth): $1 the visitor's session key, $2 the time,
 * $3 text that makes the storage keys unique to this visitor.
 */
export const SEED_LISTING_SQL =
  `INSERT INTO session_attachments (id, session_key, bundle, name, mimetype, size, sha256, storage_key, created_at, updated_at) ` +
  `SELECT gen_random_uuid()::text, $1::text, 'listing', 'list-' || g, 'text/plain', 1, repeat('0', 64), md5($3::text || g), $2, $2 ` +
  `FROM generate_series(1, 999) g`;

/** Resident memory of a process, in bytes (Linux /proc). */
export async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kilobytes = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return Number(kilobytes) * 1024;
}

/**
 * Writes a source file of `size` bytes (whole MiB) for the bench to send: `block`, 1 MiB of
 * random bytes unless given, over and over (random, so nothing on the way can compress it).
 */
export async function writeSourceFile(path: string, size: number, block = randomBytes(1024 * 1024)): Promise<void> {
  await writeFile(
    path,
    (function* () {
      for (let i = 0; i < size / block.byteLength; i += 1) yield block;
    })(),
  );
}

/** The fields of /proc/<pid>/stat after the command name (state first); undefined for a process that is gone. */
async function statFieldsOf(pid: number): Promise<string[] | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat ? stat.slice(stat.lastIndexOf(')') + 2).split(' ') : undefined;
}

/**
 * CPU seconds of a process (all its threads), from /proc/<pid>/stat; with `reaped`, also those
 * of its children that have exited (a backend whose connection closed meanwhile). 0 for a
 * process that is gone.
 */
export async function cpuSecondsOf(pid: number, reaped = false): Promise<number> {
  const fields = await statFieldsOf(pid);
  if (!fields) return 0;
  const own = Number(fields[11]) + Number(fields[12]);
  return (reaped ? own + Number(fields[13]) + Number(fields[14]) : own) / 100;
}

/** The same in milliseconds (clock ticks of 10 ms, so a figure is only as fine as that). */
export async function cpuMsOf(pid: number): Promise<number> {
  return (await cpuSecondsOf(pid)) * 1000;
}

/**
 * A process's CPU seconds in user and in system mode, and its minor page faults (a first touch
 * of a page, the kernel handing it memory), all threads, from /proc/<pid>/stat; zeros for a
 * process that is gone.
 */
export async function processCountersOf(pid: number): Promise<{ user: number; system: number; minorFaults: number }> {
  const fields = await statFieldsOf(pid);
  if (!fields) return { user: 0, system: 0, minorFaults: 0 };
  return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100, minorFaults: Number(fields[7]) };
}

/**
 * Context switches of a process's main thread so far, voluntary (it waited: for the socket, the
 * database) and not (it was preempted), from /proc/<pid>/status; 0 for a process that is gone.
 */
export async function contextSwitchesOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  let total = 0;
  for (const match of status.matchAll(/^(?:non)?voluntary_ctxt_switches:\s+(\d+)$/gm)) total += Number(match[1]);
  return total;
}

/** The PostgreSQL server of this machine that listens on `port`: its postmaster and children. */
async function postgresPids(port: string): Promise<{ postmaster: number; children: number[] } | undefined> {
  const children: number[] = [];
  const parents = new Map<number, number>();
  let postmaster: number | undefined;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const [cmdline, fields] = await Promise.all([
      readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => ''),
      statFieldsOf(Number(entry)),
    ]);
    if (!fields) continue;
    parents.set(Number(entry), Number(fields[1]));
    const args = cmdline.split('\0');
    if (args[0]?.endsWith('postgres') && args[args.indexOf('-p') + 1] === port) postmaster = Number(entry);
  }
  if (postmaster === undefined) return undefined;
  for (const [pid, parent] of parents) if (parent === postmaster) children.push(pid);
  return { postmaster, children };
}

/**
 * CPU seconds used so far by the PostgreSQL server that listens on `port` here (the postmaster,
 * its backends and helpers, and the backends that have exited), or undefined when no server
 * started with `-p <port>` runs on this machine (a DATABASE_URL elsewhere).
 */
export async function postgresCpuSeconds(port: string): Promise<number | undefined> {
  const pids = await postgresPids(port);
  if (!pids) return undefined;
  let total = await cpuSecondsOf(pids.postmaster, true);
  for (const pid of pids.children) total += await cpuSecondsOf(pid);
  return total;
}

/** Samples a process's RSS until `work` settles; returns work's result and the peak growth. */
export async function withPeakRss<T>(pid: number, work: () => Promise<T>): Promise<{ result: T; peakGrowth: number }> {
  const baseline = await rssOf(pid);
  let peak = baseline;
  const timer = setInterval(() => {
    rssOf(pid).then(
      (rss) => (peak = Math.max(peak, rss)),
      () => undefined,
    );
  }, 25);
  try {
    const result = await work();
    peak = Math.max(peak, await rssOf(pid));
    return { result, peakGrowth: peak - baseline };
  } finally {
    clearInterval(timer);
  }
}

const BOUNDARY = 'bench-boundary-7d0c';

export function multipartHead(field: string, name: string): string {
  return `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${field}"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`;
}

export const multipartTail = `\r\n--${BOUNDARY}--\r\n`;
export const multipartType = `multipart/form-data; boundary=${BOUNDARY}`;

/** Streams a file from disk as one multipart upload; resolves with the response and seconds taken. */
export function uploadFile(url: string, source: string, size: number, name: string, cookie?: string) {
  const head = multipartHead('file', name);
  const length = Buffer.byteLength(head) + size + Buffer.byteLength(multipartTail);
  return new Promise<{ status: number; seconds: number; cookie: string | undefined }>((done, fail) => {
    const started = performance.now();
    const request = httpRequest(
      url,
      {
        method: 'POST',
        headers: { 'content-type': multipartType, 'content-length': String(length), ...(cookie ? { cookie } : {}) },
      },
      (response) => {
        response.resume();
        response.on('end', () =>
          done({
            status: response.statusCode ?? 0,
            seconds: (performance.now() - started) / 1000,
            cookie: response.headers['set-cookie']?.[0]?.split(';')[0] ?? cookie,
          }),
        );
      },
    );
    request.on('error', fail);
    request.write(head);
    const file = createReadStream(source, { highWaterMark: 1024 * 1024 });
    file.pipe(request, { end: false });
    file.on('end', () => request.end(multipartTail));
  });
}

/** Downloads and discards a response body; resolves with bytes and seconds. */
export function download(url: string, cookie?: string) {
  return new Promise<{ status: number; bytes: number; seconds: number }>((done, fail) => {
    const started = performance.now();
    httpRequest(url, { headers: cookie ? { cookie } : {} }, (response) => {
      let bytes = 0;
      response.on('data', (chunk: Buffer) => (bytes += chunk.length));
      response.on('end', () => done({ status: response.statusCode ?? 0, bytes, seconds: (performance.now() - started) / 1000 }));
    })
      .on('error', fail)
      .end();
  });
}

/** Session cookies of `count` new visitors, each made by a GET of `url` (a list). */
export async function visitorCookies(url: string, count: number): Promise<string[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const response = await fetch(url);
      await response.arrayBuffer();
      const cookie = response.headers.get('set-cookie')?.split(';')[0];
      if (!cookie) throw new Error(`${url} set no session cookie`);
      return cookie;
    }),
  );
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The nearest-rank percentile: the smallest value that at least `p` percent of `values` do not exceed. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
