// The module as an npm package: `npm pack`, a fresh Nest 12 app in a temporary folder that
// installs the tarball and imports it by name, migrations on PostgreSQL, and a round trip.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { freePort } from '../support/postgres-server.js';
import { Visitor } from '../support/visitor.js';

const run = promisify(execFile);
const projectRoot = resolve(import.meta.dirname, '../../..');

// A consumer's app in plain JavaScript: decorators applied as functions, no build step.
const consumerMain = `
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import session from 'express-session';
import { AttachmentEntity, AttachmentsModule, DiskStorage, attachmentsMigrations } from 'nestjs-session-attachments';

class AppModule {}
Module({
  imports: [
    TypeOrmModule.forRoot({ type: 'postgres', url: process.env.DATABASE_URL, entities: [AttachmentEntity], migrations: attachmentsMigrations, migrationsRun: true }),
    AttachmentsModule.forRoot({ path: 'uploads', storage: new DiskStorage({ directory: process.env.FILES_DIR }), sweepEvery: false }),
  ],
})(AppModule);

const app = await NestFactory.create(AppModule, { logger: ['error'] });
app.use(session({ secret: 'consumer', resave: false, saveUninitialized: false }));
await app.listen(Number(process.env.PORT), '127.0.0.1');
console.log('ready');
`;

describe('the npm package in a fresh Nest app', () => {
  let folder: string;
  let database: TestDatabase;
  let tarball: string;
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), 'attachments-consumer-'));
    database = await createTestDatabase('postgres');
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
    assert.ok(paths.includes('dist/src/attachments/index.js'));
    assert.ok(paths.includes('dist/src/attachments/index.d.ts'));
    assert.ok(paths.some((path) => path.startsWith('dist/src/attachments/migrations/')));
    assert.ok(paths.includes('README.md') && paths.includes('LICENSE') && paths.includes('package.json'));
    const strays = paths.filter(
      (path) => !/^(dist\/src\/attachments\/.*\.(js|d\.ts)|README\.md|LICENSE|package\.json)$/.test(path),
    );
    assert.deepEqual(strays, [], 'no tests, demo, maps or secrets');
  });

  test('installs, imports by package name, migrates PostgreSQL and round-trips a file', async () => {
    assert.ok(tarball, 'the pack step ran');
    const own = (await import(join(projectRoot, 'package.json'), { with: { type: 'json' } })) as {
      default: { devDependencies: Record<string, string> };
    };
    const want = (name: string) => `${name}@${own.default.devDependencies[name]}`;
    await writeFile(join(folder, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    await run(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        tarball,
        ...[
          '@nestjs/common',
          '@nestjs/core',
          '@nestjs/platform-express',
          '@nestjs/typeorm',
          '@nestjs/schedule',
          'typeorm',
          'pg',
          'express-session',
          'nest-commander',
          'reflect-metadata',
          'rxjs',
          '@nestjs/swagger',
        ].map(want),
      ],
      { cwd: folder, timeout: 300_000 },
    );
    await writeFile(join(folder, 'main.js'), consumerMain);
    const port = await freePort();
    const server = spawn(process.execPath, ['main.js'], {
      cwd: folder,
      env: { ...process.env, ...database.env, PORT: String(port), FILES_DIR: join(folder, 'files') },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await new Promise<void>((ready, fail) => {
        server.once('exit', (code) => fail(new Error(`the consumer app exited with ${code}`)));
        server.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && ready());
      });
      const visitor = new Visitor(`http://127.0.0.1:${port}`);
      const upload = await visitor.upload('/uploads/draft', [['file', 'hello.txt', 'hello from a consumer']]);
      assert.equal(upload.status, 201);
      const list = await visitor.json<Array<{ name: string; url: string }>>('/uploads/draft');
      assert.deepEqual(
        list.map((attachment) => attachment.name),
        ['hello.txt'],
      );
      assert.equal(await visitor.text(list[0]!.url), 'hello from a consumer');
    } finally {
      server.kill();
    }
  });
});
