// `npm run cli` on a fresh clone: no dist/ yet, and the script builds before it runs.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const projectRoot = resolve(import.meta.dirname, '../../..');
// What a clone has that the build reads (node_modules is the installed one).
const CHECKED_IN = ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'ormconfig.ts', 'src', 'test', 'bench'];

describe('npm run cli', () => {
  test('works in a checkout without dist/: it compiles first, then runs the command line', async () => {
    const clone = await mkdtemp(join(tmpdir(), 'attachments-clone-'));
    try {
      for (const entry of CHECKED_IN) await cp(join(projectRoot, entry), join(clone, entry), { recursive: true });
      await symlink(join(projectRoot, 'node_modules'), join(clone, 'node_modules'));
      assert.ok(!existsSync(join(clone, 'dist')));
      const { stdout, stderr } = await run('npm', ['run', '--silent', 'cli', '--', '--help'], { cwd: clone, timeout: 120_000 });
      assert.match(stdout, /remove-outdated-attachments/);
      assert.equal(stderr, '', 'quiet: nothing but the command line speaks');
    } finally {
      await rm(clone, { recursive: true, force: true });
    }
  });
});
