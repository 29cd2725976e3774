// A real S3-protocol server for the tests: s3rver, started as a child process on loopback.
//
// A child process, not in-process: s3rver 3.7 needs `node --openssl-legacy-provider` (without
// it ListObjectsV2 with MaxKeys or a continuation token answers 500), and that flag only
// applies to a process that starts with it.
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm, utimes } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** s3rver's built-in credentials; it checks no signatures, but the SDK signs every request. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface RunningS3Server {
  /** `http://127.0.0.1:<port>`. */
  endpoint: string;
  /** A client for the test's own checks, configured as S3Storage configures its clients. */
  client: S3Client;
  /** The variables the demo reads to reach this server (bucket not included). */
  env: Record<string, string>;
  /**
   * Another client like `client`, that records the name of every command it sends, and of
   * every command once answered successfully.
   */
  recordingClient(): { client: S3Client; commands: string[]; answered: string[] };
  /**
   * Sets an object's last-modified time `ms` in the past (s3rver reports its file's mtime), so
   * that a test can make an orphan older than a grace period without waiting for it.
   */
  ageObject(bucket: string, key: string, ms: number): Promise<void>;
  /** The incomplete multipart uploads of a bucket (s3rver's folder): parts stored, no object. */
  incompleteUploads(bucket: string): Promise<Array<{ key: string; parts: number }>>;
  /** A new empty bucket with a random name. */
  createBucket(): Promise<string>;
  /** Stops the server and removes the folder it kept its buckets in. */
  stop(): Promise<void>;
}

export async function startS3Server(): Promise<RunningS3Server> {
  const directory = await mkdtemp(join(tmpdir(), 'attachments-s3rver-'));
  const bin = createRequire(import.meta.url).resolve('s3rver/bin/s3rver.js');
  const child = spawn(
    process.execPath,
    ['--openssl-legacy-provider', bin, '-d', directory, '-a', '127.0.0.1', '-p', '0', '--silent'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  try {
    const port = await listeningPort(child);
    const endpoint = `http://127.0.0.1:${port}`;
    const newClient = () =>
      new S3Client({
        endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: S3RVER_CREDENTIALS,
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      });
    const client = newClient();
    return {
      endpoint,
      client,
      recordingClient() {
        const commands: string[] = [];
        const answered: string[] = [];
        const recording = newClient();
        recording.middlewareStack.add(
          (next, context) => async (args) => {
            commands.push(String(context.commandName));
            const result = await next(args);
            answered.push(String(context.commandName));
            return result;
          },
          { step: 'initialize' },
        );
        return { client: recording, commands, answered };
      },
      env: {
        S3_ENDPOINT: endpoint,
        S3_REGION: 'us-east-1',
        S3_FORCE_PATH_STYLE: 'true',
        AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
      },
      async ageObject(bucket, key, ms) {
        const parts = key.split('/');
        const file = join(directory, bucket, ...parts.slice(0, -1), `${parts.at(-1)}._S3rver_object`);
        const then = new Date(Date.now() - ms);
        await utimes(file, then, then);
      },
      async incompleteUploads(bucket) {
        const uploads = join(directory, bucket, '._S3rver_uploads');
        const ids = await readdir(uploads).catch(() => []);
        return Promise.all(
          ids.map(async (id) => {
            const entries = await readdir(join(uploads, id));
            const key = await readFile(join(uploads, id, 'key'), 'utf8');
            return { key, parts: entries.filter((entry) => /^\d+$/.test(entry)).length };
          }),
        );
      },
      async createBucket() {
        const bucket = `attachments-${randomBytes(6).toString('hex')}`;
        await client.send(new CreateBucketCommand({ Bucket: bucket }));
        return bucket;
      },
      async stop() {
        client.destroy();
        if (child.exitCode === null && child.signalCode === null) {
          child.kill();
          await once(child, 'exit');
        }
        await rm(directory, { recursive: true, force: true });
      },
    };
  } catch (error) {
    child.kill();
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
}

/** The port s3rver prints once it listens (`-p 0` lets the system choose: no race for a port). */
function listeningPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += String(chunk);
      const match = /listening on [^:\s]+:(\d+)/.exec(output);
      if (match) {
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        child.stderr?.resume();
        resolve(Number(match[1]));
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => (output += String(chunk)));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`s3rver exited (${code}) before listening:\n${output}`)));
  });
}
