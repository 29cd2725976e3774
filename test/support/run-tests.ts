// The test command: a real PostgreSQL (DATABASE_URL, or an embedded server started here),
// then every compiled test file through node's test runner, ending with a summary line.
import { once } from 'node:events';
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { run } from 'node:test';
import { spec } from 'node:test/reporters';
import { startEmbeddedPostgres, type RunningPostgres } from './postgres-server.js';

const testRoot = resolve(import.meta.dirname, '..');
const filter = process.argv.slice(2);

function testFiles(folder: string): string[] {
  return readdirSync(folder).flatMap((entry) => {
    const path = join(folder, entry);
    if (statSync(path).isDirectory()) return testFiles(path);
    return path.endsWith('.test.js') ? [path] : [];
  });
}

let postgres: RunningPostgres | undefined;
if (!process.env.DATABASE_URL) {
  console.log('DATABASE_URL is not set: starting an embedded PostgreSQL for this run');
  postgres = await startEmbeddedPostgres();
  process.env.DATABASE_URL = postgres.url;
}
process.env.ATTACHMENTS_TEST_DATABASE_URL = process.env.DATABASE_URL;

const files = testFiles(testRoot)
  .filter((file) => filter.length === 0 || filter.some((part) => file.includes(part)))
  .sort();
let passed = 0;
let failed = 0;

async function runFiles(batch: string[], concurrency: number): Promise<void> {
  if (batch.length === 0) return;
  const stream = run({ files: batch, concurrency, timeout: 5 * 60_000 });
  stream.on('test:pass', (event) => {
    if (event.details.type !== 'suite') passed += 1;
  });
  stream.on('test:fail', (event) => {
    if (event.details.type !== 'suite') failed += 1;
  });
  const report = stream.compose<NodeJS.ReadableStream>(new spec());
  report.pipe(process.stdout, { end: false });
  await once(report, 'end');
}

// `.serial.test.js` files rebuild or load the machine: they run alone, after the rest.
const isSerial = (file: string) => file.endsWith('.serial.test.js');
await runFiles(
  files.filter((file) => !isSerial(file)),
  2,
);
await runFiles(files.filter(isSerial), 1);
await postgres?.stop();
if (files.length === 0) failed += 1;
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
