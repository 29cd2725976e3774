import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

// A resolve hook that writes down every module the child resolves, to a file: the hooks run on
// their own thread, and the file is complete once the import has finished.
const hook = (log: string) => `
import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(${JSON.stringify(log)}, result.url + '\\n');
  return result;
}`;

const child = `
import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(process.env.HOOK));
await import(process.env.ENTRY);
`;

/** The packages (by name) that importing `entry` in a fresh Node.js process loads. */
export async function packagesLoadedBy(entry: string): Promise<Set<string>> {
  const folder = await mkdtemp(join(tmpdir(), 'attachments-loaded-'));
  try {
    const log = join(folder, 'resolved.txt');
    await run(process.execPath, ['--input-type=module', '-e', child], {
      env: { ...process.env, HOOK: hook(log), ENTRY: entry },
    });
    const urls = (await readFile(log, 'utf8')).split('\n');
    const names = urls.map((url) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1]);
    return new Set(names.filter((name) => name !== undefined));
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}
