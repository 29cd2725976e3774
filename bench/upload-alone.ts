// `npm run build && node dist/bench/upload-alone.js [--quick] [--rounds=N] [--idle=S] [--replace]
// [--servers=a,b]`: the big upload row alone, the module (durable and `durable: false`) against
// the two ceilings and the stock code (Multer + TypeORM, on the same database), in turns, each
// after a sync, in an order that rotates per round, by curl (see curl-client.ts), with each
// server's CPU per MiB. `--servers=a,b` measures only those. `--idle=S` waits S seconds before
// each upload (V8 shrinks an idle server's heap after about a minute, and a busy bench never
// shows what that does to the next upload). `--replace`: each server's uploads come from one
// visitor under one name, so every upload after the first replaces the one before (the module
// then also lets go of the old file; the other servers keep every file). With
// `BENCH_PROFILE=<folder>` the servers run under `node --cpu-prof` (see bench/support.ts).
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { settle, startAloneRun } from './alone-run.js';
import { curlUpload } from './curl-client.js';
import { cpuMsOf, median, startServer, type BenchServer } from './support.js';
import { option } from './cli-options.js';

const MiB = 1024 * 1024;
const quick = process.argv.includes('--quick');
const size = (quick ? 64 : 1024) * MiB;
const rounds = Number(option('rounds') ?? 3);
const idleSeconds = Number(option('idle') ?? 0);
const replace = process.argv.includes('--replace');

const SERVERS = ['module', 'module-nondurable', 'stock', 'ceiling', 'ceiling-durable'] as const;
type Name = (typeof SERVERS)[number];
// `--servers=module,ceiling-durable`: measure only those (all four run; the others stay idle).
const names = (option('servers')?.split(',') ?? [...SERVERS]) as Name[];
const unknown = names.filter((name) => !SERVERS.includes(name));
if (unknown.length > 0) throw new Error(`--servers: no server named ${unknown.join(', ')} (there are ${SERVERS.join(', ')})`);

const { database, work, source, end } = await startAloneRun('upload-alone', size);
// The ceilings write into their folder as it is; the module makes its own.
for (const folder of ['stock', 'ceiling', 'ceiling-durable']) await mkdir(join(work, folder));
const servers: Record<Name, BenchServer> = {
  module: await startServer('module', 'module-server', { ...database.env, ATTACHMENTS_DIR: join(work, 'module') }),
  'module-nondurable': await startServer('module-nondurable', 'module-server', {
    ...database.env,
    ATTACHMENTS_DIR: join(work, 'nondurable'),
    ATTACHMENTS_DURABLE: '0',
  }),
  stock: await startServer('stock', 'multer-server', { ...database.env, UPLOAD_DIR: join(work, 'stock') }),
  ceiling: await startServer('ceiling', 'ceiling-server', { UPLOAD_DIR: join(work, 'ceiling') }),
  'ceiling-durable': await startServer('ceiling-durable', 'ceiling-server', {
    UPLOAD_DIR: join(work, 'ceiling-durable'),
    DURABLE: '1',
  }),
};
/** The ratio of two servers' medians, when both were measured. */
const ratio = (medians: Partial<Record<Name, number>>, label: string, top: Name, bottom: Name) =>
  medians[top] !== undefined && medians[bottom] !== undefined ? `; ${label} ${(medians[top] / medians[bottom]).toFixed(2)}×` : '';

try {
  const results = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<Name, number[]>;
  const cpu = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<Name, number[]>;
  const cookies: Partial<Record<Name, string>> = {};
  for (let round = 0; round < rounds; round += 1) {
    const order = names.map((_, index) => names[(index + round) % names.length]!);
    for (const name of order) {
      const path = name.startsWith('module') ? '/attachments/big' : name === 'stock' ? '/baseline/big' : '/';
      await settle();
      if (idleSeconds > 0) await new Promise((resolve) => setTimeout(resolve, idleSeconds * 1000));
      const cpuBefore = await cpuMsOf(servers[name].pid);
      const result = await curlUpload(`${servers[name].baseUrl}${path}`, source, 'big.bin', replace ? cookies[name] : undefined);
      if (result.status !== 201) throw new Error(`${name}: ${result.status}`);
      cookies[name] = result.cookie;
      results[name].push(size / MiB / result.seconds);
      cpu[name].push(((await cpuMsOf(servers[name].pid)) - cpuBefore) / (size / MiB));
    }
    console.log(
      `round ${round + 1}: ${names.map((name) => `${name} ${results[name].at(-1)!.toFixed(0)} MiB/s (${cpu[name].at(-1)!.toFixed(2)} ms CPU/MiB)`).join(', ')}`,
    );
  }
  const medians = Object.fromEntries(names.map((name) => [name, median(results[name])])) as Partial<Record<Name, number>>;
  console.log(
    `${size / MiB} MiB, medians of ${rounds}: ${names.map((name) => `${name} ${medians[name]!.toFixed(0)}`).join(', ')} MiB/s` +
      ratio(medians, 'module/ceiling-durable', 'module', 'ceiling-durable') +
      ratio(medians, 'module-nondurable/ceiling', 'module-nondurable', 'ceiling') +
      ratio(medians, 'module-nondurable/stock', 'module-nondurable', 'stock'),
  );
  console.log(`server CPU per MiB, medians: ${names.map((name) => `${name} ${median(cpu[name]).toFixed(2)} ms`).join(', ')}`);
} finally {
  for (const server of Object.values(servers)) await server.stop();
  await end();
}
