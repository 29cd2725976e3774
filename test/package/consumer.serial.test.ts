// The module as an npm package, used as the README says: `npm pack`, a fresh `nest new` app in
// each module system (ES modules and CommonJS) that installs the tarball with the README's
// install line, builds the README's files as they stand, migrates PostgreSQL and round-trips a
// file; then the command and the OpenAPI files once their optional peers are installed.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { freePort } from '../support/postgres-server.js';
import { Visitor } from '../support/visitor.js';
import { createNestNewApp, writeAppFile, type ModuleSystem } from './nest-new-app.js';
import { readmeFiles, type ReadmeFile, type ReadmeFiles } from './readme-files.js';

const run = promisify(execFile);
const projectRoot = resolve(import.meta.dirname, '../../..');
const tsc = join(projectRoot, 'node_modules/typescript/bin/tsc');
const SYSTEMS: Array<{ system: ModuleSystem; label: string }> = [
  { system: 'esm', label: 'ES module' },
  { system: 'cjs', label: 'CommonJS' },
];
// What a `nest new` app has installed before the README's line, and the optional peers.
const NEST_NEW_PACKAGES = [
  '@nestjs/common',
  '@nestjs/core',
  '@nestjs/platform-express',
  'reflect-metadata',
  'rxjs',
  '@types/express',
  '@types/node',
];
const OPTIONAL_PEERS = ['nest-commander', '@nestjs/swagger', '@aws-sdk/client-s3', '@aws-sdk/lib-storage', 'sharp'];
// A README file that needs an optional peer is built once that peer is installed.
const needsOptionalPeer = (file: ReadmeFile) =>
  /from '(nest-commander|@nestjs\/swagger|@aws-sdk\/[\w-]+|sharp|nestjs-session-attachments\/(cli|openapi|s3))'/.test(file.text);
// The JWT setup's files are built once its own install line has run.
const needsJwt = (file: ReadmeFile) => /from '(@nestjs\/jwt|\.\/auth\.guard\.js)'/.test(file.text);
const inSessionApp = (file: ReadmeFile) => !needsOptionalPeer(file) && !needsJwt(file);

// The README's main.ts prints nothing when it listens (Nest's "successfully started" comes
// before), so the test preloads this: a line on stdout once the HTTP server listens.
const LISTENING_PROBE = `data:text/javascript,${encodeURIComponent(`
import { Server } from 'node:net';
const listen = Server.prototype.listen;
Server.prototype.listen = function (...args) {
  this.once('listening', () => process.stdout.write('probe: listening\\n'));
  return listen.apply(this, args);
};`)}`;

/** Where an alternative of a README file is compiled: beside the file it replaces. */
const variantPath = (file: ReadmeFile, index: number) => file.path.replace(/\.ts$/, `.readme-variant-${index}.ts`);

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('the npm package in a fresh Nest app', () => {
  let folder: string;
  let database: TestDatabase;
  let tarball: string;
  let readme: ReadmeFiles;
  let installed = false;
  const appFolder = (system: ModuleSystem) => join(folder, system);

  const npmInstall = async (packages: string[]) => {
    const own = (await import(join(projectRoot, 'package.json'), { with: { type: 'json' } })) as {
      default: { devDependencies: Record<string, string> };
    };
    const pinned = packages.map((name) => {
      if (name === 'nestjs-session-attachments') return tarball;
      const version = own.default.devDependencies[name];
      assert.ok(version, `the README installs ${name}, which this project does not depend on`);
      return `${name}@${version}`;
    });
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...pinned], { cwd: folder, timeout: 300_000 });
  };
  const build = (system: ModuleSystem) =>
    run(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: appFolder(system) }).catch(
      (error: Error & { stdout?: string }) => {
        throw new Error(`the ${system} app does not build:\n${error.stdout ?? error.message}`);
      },
    );
  const env = (system: ModuleSystem, extra: Record<string, string> = {}) => ({
    ...process.env,
    ...database.env,
    ATTACHMENTS_DIR: join(appFolder(system), 'files'),
    ...extra,
  });
  /** Runs a built file of the app to its end. */
  const runToEnd = (system: ModuleSystem, args: string[], environment: NodeJS.ProcessEnv): Promise<Exit> =>
    new Promise((done) => {
      execFile(
        process.execPath,
        args,
        { cwd: appFolder(system), env: environment, timeout: 120_000 },
        (error, stdout, stderr) => {
          done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
        },
      );
    });

  before(async () => {
    folder = await mkdtemp(join(tmpdir(), 'attachments-consumer-'));
    database = await createTestDatabase('postgres');
    readme = await readmeFiles(join(projectRoot, 'README.md'));
  });
  after(async () => {
    await database.drop();
    await rm(folder, { recursive: true, force: true });
  });

  test('npm pack ships dist (JS + types), README and LICENSE, and nothing else', async () => {
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', folder], { cwd: projectRoot });
    const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    tarball = join(folder, packed!.filename);
    const paths = packed!.files.map((file) => file.path);
    for (const entry of ['index', 'cli', 'openapi', 's3']) {
      assert.ok(paths.includes(`dist/src/attachments/${entry}.js`), entry);
      assert.ok(paths.includes(`dist/src/attachments/${entry}.d.ts`), entry);
    }
    assert.ok(paths.some((path) => path.startsWith('dist/src/attachments/migrations/')));
    assert.ok(paths.includes('README.md') && paths.includes('LICENSE') && paths.includes('package.json'));
    const strays = paths.filter(
      (path) => !/^(dist\/src\/attachments\/.*\.(js|d\.ts)|README\.md|LICENSE|package\.json)$/.test(path),
    );
    assert.deepEqual(strays, [], 'no tests, demo, maps or secrets');
    // The maps stay out, so no shipped file may point at one (a debugger or source-map-support
    // would then look for a file that is not there): prepack builds without them.
    const unpacked = join(folder, 'unpacked');
    await mkdir(unpacked);
    await run('tar', ['-xzf', tarball, '-C', unpacked]);
    const library = join(unpacked, 'package', 'dist', 'src', 'attachments');
    const scripts = (await readdir(library, { recursive: true })).filter((path) => path.endsWith('.js'));
    assert.ok(scripts.length > 20, 'the library was unpacked');
    const pointing: string[] = [];
    for (const script of scripts)
      if ((await readFile(join(library, script), 'utf8')).includes('sourceMappingURL')) pointing.push(script);
    assert.deepEqual(pointing, [], 'shipped files that name a source map');
  });

  test("the README's install line installs it beside a nest new app's packages, without the optional peers", async () => {
    assert.ok(tarball, 'the pack step ran');
    assert.ok(readme.install.includes('nestjs-session-attachments') && readme.install.includes('@types/express-session'));
    await writeFile(join(folder, 'package.json'), JSON.stringify({ name: 'consumer-packages', private: true }));
    await npmInstall([...NEST_NEW_PACKAGES, ...readme.install]);
    for (const peer of OPTIONAL_PEERS) assert.ok(!existsSync(join(folder, 'node_modules', peer)), `${peer} is not installed`);
    installed = true;
  });

  for (const { system, label } of SYSTEMS) {
    test(`a fresh ${label} nest new app builds the README's files and round-trips a file on PostgreSQL`, async () => {
      assert.ok(installed, 'the install step ran');
      const app = appFolder(system);
      await createNestNewApp(app, system);
      for (const file of readme.files.filter(inSessionApp)) await writeAppFile(app, file.path, file.text);
      // Alternatives (SQLite's database.ts) are compiled beside the file they replace.
      for (const [index, file] of readme.variants.entries()) {
        if (inSessionApp(file)) await writeAppFile(app, variantPath(file, index), file.text);
      }
      await build(system);
      const compiled = await readFile(join(app, 'dist/app.module.js'), 'utf8');
      const loads = system === 'cjs' ? /require\("nestjs-session-attachments"\)/ : /from 'nestjs-session-attachments'/;
      assert.match(compiled, loads, `the ${label} app loads the package with ${system === 'cjs' ? 'require' : 'import'}`);

      const refused = await runToEnd(system, ['dist/main'], env(system, { SESSION_SECRET: '', PORT: '0' }));
      assert.notEqual(refused.code, 0, 'no SESSION_SECRET, no app');
      assert.match(refused.stderr, /SESSION_SECRET is not set/);

      const port = await freePort();
      const server = spawn(process.execPath, ['--import', LISTENING_PROBE, 'dist/main'], {
        cwd: app,
        env: env(system, { SESSION_SECRET: 'consumer secret', PORT: String(port) }),
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      try {
        await new Promise<void>((ready, fail) => {
          server.once('exit', (code) => fail(new Error(`the ${system} app exited with ${code}`)));
          server.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('probe: listening') && ready());
        });
        const visitor = new Visitor(`http://127.0.0.1:${port}`);
        const upload = await visitor.upload('/attachments/draft', [['file', 'hello.txt', 'hello from a consumer']]);
        assert.equal(upload.status, 201);
        const list = await visitor.json<Array<{ name: string; url: string; sha256: string }>>('/attachments/draft');
        assert.deepEqual(
          list.map((attachment) => attachment.name),
          ['hello.txt'],
        );
        assert.equal(await visitor.text(list[0]!.url), 'hello from a consumer');
        const crossSite = await visitor.request('POST', '/drafts/draft/send', { headers: { 'sec-fetch-site': 'cross-site' } });
        assert.equal(crossSite.status, 403);
        assert.equal(((await crossSite.json()) as { code: string }).code, 'cross_site_request');
        const sent = await visitor.request('POST', '/drafts/draft/send');
        assert.equal(sent.status, 200);
        assert.deepEqual(await sent.json(), { bundle: 'draft', sent: [{ name: 'hello.txt', sha256: list[0]!.sha256 }] });
        assert.deepEqual(await visitor.names('draft'), []);
      } finally {
        server.kill();
      }
    });
  }

  test("with the JWT section's install line, its guard and app module build in both apps", async () => {
    assert.deepEqual(readme.jwtInstall, ['@nestjs/jwt']);
    const jwtFiles = readme.files.filter(needsJwt);
    const jwtVariants = [...readme.variants.entries()].filter(([, file]) => needsJwt(file));
    assert.deepEqual(
      jwtFiles.map((file) => file.path),
      ['src/auth.guard.ts'],
    );
    assert.deepEqual(
      jwtVariants.map(([, file]) => file.path),
      ['src/app.module.ts'],
    );
    await npmInstall(readme.jwtInstall);
    for (const { system } of SYSTEMS) {
      assert.ok(existsSync(join(appFolder(system), 'dist')), `the ${system} app was built`);
      for (const file of jwtFiles) await writeAppFile(appFolder(system), file.path, file.text);
      for (const [index, file] of jwtVariants) await writeAppFile(appFolder(system), variantPath(file, index), file.text);
      await build(system);
    }
  });

  test("with the optional peers installed (nest-commander, @nestjs/swagger, the AWS SDK, sharp), the README's command, OpenAPI, S3 and previews files build in both apps, and the command runs", async () => {
    const optional = readme.files.filter(needsOptionalPeer);
    assert.deepEqual(optional.map((file) => file.path).sort(), [
      'src/attachments-options.ts',
      'src/cli.module.ts',
      'src/cli.ts',
      'src/openapi.ts',
      'src/s3-storage.ts',
    ]);
    await npmInstall(OPTIONAL_PEERS);
    for (const { system } of SYSTEMS) {
      assert.ok(existsSync(join(appFolder(system), 'dist')), `the ${system} app was built`);
      for (const file of optional) await writeAppFile(appFolder(system), file.path, file.text);
      await build(system);
      const result = await runToEnd(
        system,
        ['dist/cli', 'remove-outdated-attachments', '--older-than=3', '--dry-run'],
        env(system),
      );
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /Would remove 0 attachment\(s\)/);
    }
    const openapi = await runToEnd(
      'cjs',
      ['-e', "require('nestjs-session-attachments/openapi').documentAttachmentsRoutes()"],
      env('cjs'),
    );
    assert.equal(openapi.code, 0, `require() of the /openapi entry: ${openapi.stderr}`);
  });
});
