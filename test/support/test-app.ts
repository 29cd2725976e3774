import type { DynamicModule, INestApplication, LoggerService, Type } from '@nestjs/common';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import type { AttachmentsModuleExtras, AttachmentsModuleOptions } from '../../src/attachments/index.js';
import { sqlDialectFor } from '../../src/attachments/persistence/sql-dialect.js';
import { AttachmentsService, DiskStorage } from '../../src/attachments/index.js';
import { createDemoApp, type DemoServing } from '../../src/bootstrap.js';
import type { DemoSessionStoreConfig } from '../../src/demo-session-store.js';
import { createTestDatabase, type TestDatabase } from './databases.js';
import { partsOnly } from './parts-only-storage.js';

/** The demo app on a free port, with its own database and attachments folder. */
export interface RunningApp {
  app: INestApplication;
  baseUrl: string;
  database: TestDatabase;
  attachmentsDirectory: string;
  /**
   * Files under the storage's blobs folder: the bytes the app keeps, once the deletions of
   * replaced files (which an upload's answer does not wait for) have finished.
   */
  blobCount(): Promise<number>;
  /** Files under the storage's temporary folder: interrupted or running writes. */
  temporaryCount(): Promise<number>;
  /** Rows in the attachments table. */
  rowCount(): Promise<number>;
  /** Files whose bytes the app keeps: blobs in the storage plus rows that hold their bytes (as blobCount). */
  heldFileCount(): Promise<number>;
  /** Settles once the deletions of replaced files started so far have finished. */
  replacedDeleted(): Promise<void>;
  close(): Promise<void>;
}

export interface StartOptions extends Pick<DemoServing, 'cors' | 'https' | 'sameSite'> {
  attachments?: Partial<AttachmentsModuleOptions & AttachmentsModuleExtras>;
  /** Extra modules (a JwtModule). */
  imports?: Array<Type | DynamicModule>;
  database?: TestDatabase;
  /** Extra controllers for host-app tests. */
  controllers?: Type[];
  session?: boolean;
  /** Where sessions are kept (default: this process's memory); a store outlives a restart. */
  sessionStore?: DemoSessionStoreConfig;
  /**
   * The disk storage without its ResumableWrites, so that tus uploads take the parts strategy
   * (each PATCH a file of its own, in tmp/ while it is written) instead of growing in place.
   */
  partsOnDisk?: boolean;
  /** A folder for the disk storage (default: a new temporary one, removed on close). */
  attachmentsDirectory?: string;
  /** Where the app's log goes (default: nowhere); e.g. a `CollectingLogger`. */
  logger?: LoggerService;
  /** Called before the app listens: a host's own middleware (`app.use`) goes here. */
  beforeListen?: (app: INestApplication) => void;
}

/**
 * Where small files live: every behaviour is proven in both placements. `inlineMaxSize: 0`
 * keeps every file in the storage; the default keeps small ones with their row.
 */
export const PLACEMENTS = [
  { name: 'files in the storage', inlineMaxSize: 0 },
  { name: 'small files inline', inlineMaxSize: undefined },
] as const;

export async function startApp(kind: TestDatabase['kind'], options: StartOptions = {}): Promise<RunningApp> {
  const database = options.database ?? (await createTestDatabase(kind));
  const attachmentsDirectory = options.attachmentsDirectory ?? (await mkdtemp(join(tmpdir(), 'attachments-files-')));
  const app = await createDemoApp(
    {
      port: 0,
      database: database.options,
      attachmentsDirectory,
      sessionSecret: 'test-secret',
      sessionStore: options.sessionStore,
      expireAfter: undefined,
      sweepEvery: undefined,
    },
    {
      logger: false,
      attachments: {
        sweepEvery: false,
        ...(options.partsOnDisk ? { storage: partsOnly(new DiskStorage({ directory: attachmentsDirectory })) } : {}),
        ...options.attachments,
      },
      controllers: options.controllers ?? [],
      imports: options.imports ?? [],
      ...(options.session === false ? { session: false } : {}),
      ...(options.cors ? { cors: options.cors } : {}),
      ...(options.https ? { https: options.https } : {}),
      ...(options.sameSite ? { sameSite: options.sameSite } : {}),
    },
  );
  if (options.logger) app.useLogger(options.logger);
  options.beforeListen?.(app);
  await app.listen(0, '127.0.0.1');
  const { port } = (app.getHttpServer() as Server).address() as AddressInfo;
  const dataSource = app.get(DataSource);
  const replacedDeleted = () => app.get(AttachmentsService).replacedDeleted();
  return {
    app,
    baseUrl: `${options.https ? 'https' : 'http'}://127.0.0.1:${port}`,
    database,
    attachmentsDirectory,
    replacedDeleted,
    blobCount: async () => {
      await replacedDeleted();
      return countFiles(join(attachmentsDirectory, 'blobs'));
    },
    temporaryCount: () => countFiles(join(attachmentsDirectory, 'tmp')),
    rowCount: async () => {
      const [row] = await dataSource.query<Array<{ n: string | number }>>('SELECT COUNT(*) AS n FROM session_attachments');
      return Number(row?.n);
    },
    heldFileCount: async () => {
      await replacedDeleted();
      const [row] = await dataSource.query<Array<{ n: string | number }>>(
        `SELECT COUNT(*) AS n FROM ${sqlDialectFor(dataSource).table} WHERE content IS NOT NULL`,
      );
      return Number(row?.n) + (await countFiles(join(attachmentsDirectory, 'blobs')));
    },
    async close() {
      await app.close();
      if (!options.database) await database.drop();
      if (!options.attachmentsDirectory) await rm(attachmentsDirectory, { recursive: true, force: true });
    },
  };
}

/** Files under `folder`, at any depth, as they are now (0 for a missing folder). */
export async function countFiles(folder: string): Promise<number> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((entry) => entry.isFile()).length;
}

/** A logger that keeps what it is given, for tests that assert what an app logs. */
export class CollectingLogger implements LoggerService {
  readonly entries: Array<{ level: 'log' | 'error' | 'warn' | 'debug' | 'verbose' | 'fatal'; message: string }> = [];

  log(message: unknown): void {
    this.entries.push({ level: 'log', message: String(message) });
  }
  error(message: unknown): void {
    this.entries.push({ level: 'error', message: String(message) });
  }
  warn(message: unknown): void {
    this.entries.push({ level: 'warn', message: String(message) });
  }
  debug(message: unknown): void {
    this.entries.push({ level: 'debug', message: String(message) });
  }
  verbose(message: unknown): void {
    this.entries.push({ level: 'verbose', message: String(message) });
  }
  fatal(message: unknown): void {
    this.entries.push({ level: 'fatal', message: String(message) });
  }

  /** Warnings and errors: what a healthy request must not leave. */
  problems(): string[] {
    return this.entries
      .filter((entry) => entry.level !== 'log' && entry.level !== 'debug' && entry.level !== 'verbose')
      .map((entry) => entry.message);
  }
}
