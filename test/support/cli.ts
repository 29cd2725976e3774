import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import type { RunningApp } from './test-app.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

const projectRoot = resolve(import.meta.dirname, '../../..');

/** Runs the demo's command line as a real process against the app's database and storage. */
export function runCli(running: RunningApp, args: string[], command: string[] = ['node', 'dist/src/cli.js']): Promise<CliResult> {
  const env = {
    ...process.env,
    DATABASE_URL: '',
    DATABASE_PATH: '',
    ...running.database.env,
    ATTACHMENTS_DIR: running.attachmentsDirectory,
  };
  return new Promise((done) => {
    execFile(
      command[0]!,
      [...command.slice(1), ...args],
      { cwd: projectRoot, env, timeout: 120_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

/** Makes every attachment of the app (or those named) look last written `milliseconds` earlier. */
export async function ageAttachments(running: RunningApp, milliseconds: number, names?: string[]): Promise<void> {
  const { DataSource } = await import('typeorm');
  const dataSource = running.app.get(DataSource);
  const postgres = dataSource.options.type === 'postgres';
  const list = names ? ` WHERE name IN (${names.map((_, index) => (postgres ? `$${index + 2}` : '?')).join(', ')})` : '';
  await dataSource.query(`UPDATE session_attachments SET updated_at = updated_at - ${postgres ? '$1' : '?'}${list}`, [
    milliseconds,
    ...(names ?? []),
  ]);
}
