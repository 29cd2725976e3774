// Three demo processes (`node dist/src/main.js`) on one PostgreSQL database, one s3rver bucket
// (or, with `storage: 'disk'`, one attachments folder they share) and the PostgreSQL session
// store, behind HAProxy running the README's configuration.
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createTestDatabase, withClient, type TestDatabase } from '../support/databases.js';
import { readmeHaproxyConfig, startHaproxy, withAddresses, type RunningHaproxy } from '../support/haproxy.js';
import { freePort } from '../support/postgres-server.js';
import { startS3Server, type RunningS3Server } from '../support/s3-server.js';
import { waitFor } from '../support/wait-for.js';

const projectRoot = resolve(import.meta.dirname, '../../..');

export interface Instance {
  /** HAProxy's name for it (`app1`...), which its X-Served-By header carries. */
  name: string;
  port: number;
  baseUrl: string;
  pid: number;
  /** Everything it printed so far, line by line. */
  lines: string[];
  /** Bytes it has read through read() so far (sockets included): who is receiving an upload. */
  bytesRead(): Promise<number>;
  kill(signal: NodeJS.Signals): Promise<void>;
  exited(): boolean;
}

export interface Cluster {
  instances: Instance[];
  balancer: RunningHaproxy;
  database: TestDatabase;
  s3: RunningS3Server;
  bucket: string;
  /** The folder the instances share with `storage: 'disk'`. */
  attachmentsDirectory: string | undefined;
  sql<T>(text: string, values?: unknown[]): Promise<T[]>;
  /** Every object key in the bucket. */
  objectKeys(): Promise<string[]>;
  /** Every stored blob's key (with the prefix the instances use); small files inline have none. */
  rowKeys(): Promise<string[]>;
  stop(): Promise<void>;
}

export const S3_PREFIX = 'cluster';

/** Where the instances keep bytes: the bucket (the default), or one folder on this machine. */
export type ClusterStorage = 's3' | 'disk';

/**
 * `beforeInstances` runs on the fresh database before any instance starts (a test takes the
 * sweep lock there, so that no sweep runs until it lets one).
 */
export async function startCluster(
  haproxyBinary: string,
  env: Record<string, string>,
  beforeInstances: (database: TestDatabase) => Promise<void> = async () => undefined,
  storage: ClusterStorage = 's3',
): Promise<Cluster> {
  const database = await createTestDatabase('postgres');
  const s3 = await startS3Server();
  const bucket = await s3.createBucket();
  const attachmentsDirectory = storage === 'disk' ? await mkdtemp(join(tmpdir(), 'attachments-cluster-')) : undefined;
  const storageEnv: Record<string, string> = attachmentsDirectory
    ? { ATTACHMENTS_DIR: attachmentsDirectory }
    : { ATTACHMENTS_STORAGE: 's3', S3_BUCKET: bucket, S3_PREFIX };
  const instances: Instance[] = [];
  let balancer: RunningHaproxy | undefined;
  const sql = <T>(text: string, values: unknown[] = []) =>
    withClient(database.env.DATABASE_URL!, (client) => client.query(text, values)).then((result) => result.rows as T[]);
  const stop = async () => {
    await balancer?.stop();
    for (const instance of instances) if (!instance.exited()) await instance.kill('SIGTERM');
    await s3.stop();
    await database.drop();
    if (attachmentsDirectory) await rm(attachmentsDirectory, { recursive: true, force: true });
  };
  try {
    await beforeInstances(database);
    const names = ['app1', 'app2', 'app3'];
    const ports = await Promise.all(names.map(() => freePort()));
    // All three start at once, as a deployment's replicas do: migrations and the session
    // table must cope with that.
    instances.push(
      ...(await Promise.all(
        names.map((name, index) =>
          startInstance(name, ports[index]!, {
            ...env,
            ...database.env,
            ...s3.env,
            ...storageEnv,
          }),
        ),
      )),
    );
    const balancerPort = await freePort();
    const readmeConfig = await readmeHaproxyConfig(resolve(projectRoot, 'README.md'));
    balancer = await startHaproxy(haproxyBinary, withAddresses(readmeConfig, balancerPort, ports), balancerPort);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    instances,
    balancer,
    database,
    s3,
    bucket,
    attachmentsDirectory,
    sql,
    async objectKeys() {
      const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: bucket }));
      return (listed.Contents ?? []).map((object) => object.Key!).sort();
    },
    async rowKeys() {
      const rows = await sql<{ storage_key: string }>('SELECT storage_key FROM session_attachments WHERE content IS NULL');
      return rows.map((row) => `${S3_PREFIX}/${row.storage_key}`).sort();
    },
    stop,
  };
}

async function startInstance(name: string, port: number, env: Record<string, string>): Promise<Instance> {
  const child: ChildProcess = spawn(process.execPath, ['dist/src/main.js'], {
    cwd: projectRoot,
    env: { ...process.env, ...env, PORT: String(port), NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let partial = '';
  const collect = (chunk: Buffer) => {
    const text = partial + String(chunk);
    const complete = text.split('\n');
    partial = complete.pop()!;
    lines.push(...complete);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  const baseUrl = `http://127.0.0.1:${port}`;
  const up = await waitFor(
    () =>
      !exited() &&
      fetch(`${baseUrl}/`).then(
        (response) => response.ok,
        () => false,
      ),
    120_000,
    100,
  );
  if (!up) {
    if (!exited()) child.kill('SIGKILL');
    throw new Error(`instance ${name} did not start:\n${lines.join('\n')}${partial}`);
  }
  return {
    name,
    port,
    baseUrl,
    pid: child.pid!,
    lines,
    async bytesRead() {
      const io = await readFile(`/proc/${child.pid}/io`, 'utf8');
      return Number(/^rchar:\s+(\d+)/m.exec(io)?.[1]);
    },
    async kill(signal) {
      if (exited()) return;
      child.kill(signal);
      await once(child, 'exit');
    },
    exited,
  };
}
