// `npm run cli` on a fresh clone: no dist/ yet, and the script builds before it runs.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, rm, stat, symlink, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const projectRoot = resolve(import.meta.dirname, '../../..');
// What a clone has that the build reads (node_modules is the installed one).
const CHECKED_IN = ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'ormconfig.ts', 'src', 'test', 'bench'];

describe('npm run cli', () => {
  test('works in a checkout without dist/: it compiles first, then runs the command line, and compiles only when stale', async () => {
    const clone = await mkdtemp(join(tmpdir(), 'attachments-clone-'));
    try {
      for (const entry of CHECKED_IN) await cp(join(projectRoot, entry), join(clone, entry), { recursive: true });
      await symlink(join(projectRoot, 'node_modules'), join(clone, 'node_modules'));
      assert.ok(!existsSync(join(clone, 'dist')));
      const { stdout, stderr } = await run('npm', ['run', '--silent', 'cli', '--', '--help'], { cwd: clone, timeout: 120_000 });
      assert.match(stdout, /remove-outdated-attachments/);
      assert.equal(stderr, '', 'quiet: nothing but the command line speaks');
      // Built once, it starts at once: no second compile while dist/ is newer than src/ (the
      // original's habit, a cron line, runs it often), and a change in src/ compiles again.
      const built = (await stat(join(clone, 'dist/src/cli.js'))).mtimeMs;
      await run('npm', ['run', '--silent', 'cli', '--', '--help'], { cwd: clone, timeout: 120_000 });
      assert.equal((await stat(join(clone, 'dist/src/cli.js'))).mtimeMs, built, 'up to date: not compiled again');
      const later = new Date(built + 5000);
      await utimes(join(clone, 'src/cli.ts'), later, later);
      await run('npm', ['run', '--silent', 'cli', '--', '--help'], { cwd: clone, timeout: 120_000 });
      assert.ok((await stat(join(clone, 'dist/src/cli.js'))).mtimeMs > built, 'a newer source is compiled');
    } finally {
      await rm(clone, { recursive: true, force: true });
    }
  });
});
