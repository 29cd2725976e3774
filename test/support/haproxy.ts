// Debian's HAProxy in front of the test's instances, with the configuration the README shows:
// the test changes only the addresses (its free ports), nothing else.
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from './wait-for.js';

export interface RunningHaproxy {
  /** `http://127.0.0.1:<port>`: the balancer's address. */
  baseUrl: string;
  /** The configuration it runs, as written to its file. */
  config: string;
  /** What it printed (warnings, alerts). */
  output(): string;
  stop(): Promise<void>;
}

/** The `haproxy` code block of the README's "Scaling out" section. */
export async function readmeHaproxyConfig(readmePath: string): Promise<string> {
  const readme = await readFile(readmePath, 'utf8');
  const section = readme.slice(readme.indexOf('## Scaling out'));
  const block = /^```haproxy\n([\s\S]*?)^```$/m.exec(section)?.[1];
  if (!block) throw new Error('the README\'s "Scaling out" section has no ```haproxy block');
  return block;
}

/**
 * The README's configuration with the frontend on `port` and its `server` lines, in order, on
 * `backends`; it must name exactly as many servers as there are backends.
 */
export function withAddresses(config: string, port: number, backends: number[]): string {
  let binds = 0;
  let servers = 0;
  const result = config
    .replace(/^(\s*bind\s+)\S+/gm, (_line, head: string) => {
      binds += 1;
      return `${head}127.0.0.1:${port}`;
    })
    .replace(/^(\s*server\s+\S+\s+)\S+/gm, (_line, head: string) => {
      const backend = backends[servers];
      servers += 1;
      return `${head}127.0.0.1:${backend}`;
    });
  if (binds !== 1 || servers !== backends.length) {
    throw new Error(`expected 1 bind and ${backends.length} server lines in the configuration; found ${binds} and ${servers}`);
  }
  return result;
}

/** Runs `haproxy -db -f <config>` in the foreground as a child process, once its check passes. */
export async function startHaproxy(binary: string, config: string, port: number): Promise<RunningHaproxy> {
  const folder = await mkdtemp(join(tmpdir(), 'attachments-haproxy-'));
  const file = join(folder, 'haproxy.cfg');
  await writeFile(file, config);
  try {
    await promisify(execFile)(binary, ['-c', '-q', '-f', file]);
  } catch (error) {
    await rm(folder, { recursive: true, force: true });
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`haproxy refuses the configuration:\n${stdout ?? ''}${stderr ?? ''}\n${config}`, { cause: error });
  }
  const child = spawn(binary, ['-db', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += String(chunk)));
  child.stderr.on('data', (chunk: Buffer) => (output += String(chunk)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill();
      await once(child, 'exit');
    }
    await rm(folder, { recursive: true, force: true });
  };
  const listening = await waitFor(
    () =>
      child.exitCode === null &&
      new Promise<boolean>((resolve) => {
        const socket = connect(port, '127.0.0.1', () => {
          socket.end();
          resolve(true);
        });
        socket.once('error', () => resolve(false));
      }),
    30_000,
  );
  if (!listening) {
    await stop();
    throw new Error(`haproxy did not listen on ${port}:\n${output}`);
  }
  return { baseUrl: `http://127.0.0.1:${port}`, config, output: () => output, stop };
}
