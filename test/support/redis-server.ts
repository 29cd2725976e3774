// A real Redis for the tests: Debian's redis-server, started as a child process on loopback,
// in its own temporary folder, persisting nothing.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './postgres-server.js';

export interface RunningRedis {
  /** `redis://127.0.0.1:<port>`. */
  url: string;
  /** Stops the server and removes its folder. */
  stop(): Promise<void>;
}

export async function startRedisServer(binary: string): Promise<RunningRedis> {
  const directory = await mkdtemp(join(tmpdir(), 'attachments-redis-'));
  // A port another process takes between freePort() and redis-server's bind fails the start,
  // and then the next try picks another.
  for (let attempt = 1; ; attempt += 1) {
    const port = await freePort();
    const child = spawn(
      binary,
      ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', directory],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    const started = await new Promise<boolean>((resolve) => {
      const onData = (chunk: Buffer) => {
        output += String(chunk);
        if (output.includes('Ready to accept connections')) {
          child.stdout.off('data', onData);
          child.stdout.resume();
          child.stderr.resume();
          resolve(true);
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', (chunk: Buffer) => (output += String(chunk)));
      child.once('error', (error) => {
        output += String(error);
        resolve(false);
      });
      child.once('exit', () => resolve(false));
    });
    if (started) {
      return {
        url: `redis://127.0.0.1:${port}`,
        async stop() {
          if (child.exitCode === null && child.signalCode === null) {
            child.kill();
            await once(child, 'exit');
          }
          await rm(directory, { recursive: true, force: true });
        },
      };
    }
    if (attempt === 3) {
      await rm(directory, { recursive: true, force: true });
      throw new Error(`redis-server did not start:\n${output}`);
    }
  }
}
