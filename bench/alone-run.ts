// What the single-row benches (bench/*-alone.ts) share: a PostgreSQL (DATABASE_URL, else an
// embedded one), a fresh database, a work folder with a source file of random bytes, and the
// settle step bench/run.ts takes before each measurement.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '../test/support/databases.js';
import { startEmbeddedPostgres } from '../test/support/postgres-server.js';
import { writeSourceFile } from './support.js';

export interface AloneRun {
  database: TestDatabase;
  /** A folder of the run's own, removed by `end`. */
  work: string;
  /** `size` bytes of random data (1 MiB repeated), in `work`. */
  source: string;
  /** Drops the database, removes the folder, stops the embedded PostgreSQL if one was started. */
  end: () => Promise<void>;
}

export async function startAloneRun(name: string, size: number): Promise<AloneRun> {
  const postgres = process.env.DATABASE_URL ? undefined : await startEmbeddedPostgres();
  if (postgres) process.env.DATABASE_URL = postgres.url;
  const database = await createTestDatabase('postgres');
  const work = await mkdtemp(join(tmpdir(), `attachments-${name}-`));
  const source = join(work, 'source.bin');
  await writeSourceFile(source, size);
  return {
    database,
    work,
    source,
    end: async () => {
      await database.drop();
      await rm(work, { recursive: true, force: true });
      await postgres?.stop();
    },
  };
}

/** As bench/run.ts does before each step: what the step before left dirty is flushed first. */
export async function settle(): Promise<void> {
  await new Promise<void>((done) => spawn('sync', { stdio: 'ignore' }).on('exit', () => done()));
  await new Promise((resolve) => setTimeout(resolve, 1000));
}
