// `npm run build && node dist/bench/delete-alone.js [--files=100000] [--rounds=3]`: how fast
// DiskStorage deletes a sweep's blobs, and at what CPU, its `deleteMany` against one `delete`
// per key under `Promise.allSettled` (what the sweep did before DiskStorage had `deleteMany`).
// One-byte blobs in the storage's own layout, flushed to the device first (as a sweep finds
// them), deleted in batches of the sweep's default size with the CLI's thread pool (64, unless
// UV_THREADPOOL_SIZE says otherwise); nothing else runs, no database. Per way: files per second
// and this process's CPU (user: the JavaScript and libuv around each unlink; system: the
// unlinks themselves), medians over rounds whose order alternates.
import '../src/cli-thread-pool.js';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskStorage } from '../src/attachments/index.js';
import { settle } from './alone-run.js';
import { option } from './cli-options.js';
import { median } from './support.js';

const files = Number(option('files') ?? 100_000);
const rounds = Number(option('rounds') ?? 3);
/** The sweep's default `sweepBatchSize`. */
const BATCH = 5000;

type Way = (storage: DiskStorage, keys: string[]) => Promise<number>;
const WAYS: Record<string, Way> = {
  deleteMany: async (storage, keys) => (await storage.deleteMany(keys)).length,
  'delete-each': async (storage, keys) =>
    (await Promise.allSettled(keys.map((key) => storage.delete(key)))).filter((result) => result.status === 'rejected').length,
};

/** `files` one-byte blobs where DiskStorage keeps them, flushed; their keys. */
async function seed(directory: string): Promise<string[]> {
  const keys = Array.from({ length: files }, () => randomBytes(16).toString('hex'));
  for (const folder of new Set(keys.map((key) => key.slice(0, 2))))
    mkdirSync(join(directory, 'blobs', folder), { recursive: true });
  // Synchronous writes: for many one-byte files, a tight loop beats the thread pool.
  for (const key of keys) writeFileSync(join(directory, 'blobs', key.slice(0, 2), key), 'x');
  await settle();
  return keys;
}

const results: Record<string, { perSecond: number[]; user: number[]; system: number[] }> = {};
for (let round = 0; round < rounds; round += 1) {
  const names = Object.keys(WAYS);
  for (const name of round % 2 ? names.reverse() : names) {
    const directory = await mkdtemp(join(tmpdir(), 'delete-alone-'));
    const keys = await seed(directory);
    const storage = new DiskStorage({ directory });
    const cpu = process.cpuUsage();
    const started = performance.now();
    let failed = 0;
    for (let start = 0; start < keys.length; start += BATCH)
      failed += await WAYS[name]!(storage, keys.slice(start, start + BATCH));
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    await rm(directory, { recursive: true, force: true });
    if (failed > 0) throw new Error(`${name}: ${failed} blob(s) not deleted`);
    const result = (results[name] ??= { perSecond: [], user: [], system: [] });
    result.perSecond.push(files / seconds);
    result.user.push(used.user / 1e6);
    result.system.push(used.system / 1e6);
    process.stderr.write(
      `round ${round + 1} ${name.padEnd(12)} ${(files / seconds).toFixed(0).padStart(7)} files/s  ` +
        `CPU user ${(used.user / 1e6).toFixed(2)} s, system ${(used.system / 1e6).toFixed(2)} s\n`,
    );
  }
}
console.log(
  `${files.toLocaleString('en')} one-byte blobs, batches of ${BATCH}, ${process.env.UV_THREADPOOL_SIZE} threads, medians of ${rounds}:`,
);
for (const [name, result] of Object.entries(results))
  console.log(
    `  ${name.padEnd(12)} ${median(result.perSecond).toFixed(0).padStart(7)} files/s  ` +
      `CPU user ${median(result.user).toFixed(2)} s, system ${median(result.system).toFixed(2)} s`,
  );
