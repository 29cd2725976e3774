// The S3 rows of `npm run bench`: a big file uploaded and downloaded through the demo app on
// S3Storage, against the same s3rver written to and read from directly with the SDK (the
// ceiling for this store: same part size, same queue), with the app process's peak RSS growth.
// Run by bench/run.ts, or alone: `node dist/bench/s3.js [--quick]`. Nothing here is asserted.
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { createTestDatabase } from '../test/support/databases.js';
import { startEmbeddedPostgres, type RunningPostgres } from '../test/support/postgres-server.js';
import { startS3Server } from '../test/support/s3-server.js';
import { download, median, projectRoot, startServer, uploadFile, withPeakRss, writeSourceFile } from './support.js';

const MiB = 1024 * 1024;
/** S3Storage's defaults, used for the direct SDK writes too. */
const PART_SIZE = 8 * MiB;
const QUEUE_SIZE = 4;

export interface S3BenchOptions {
  quick: boolean;
  log: (line: string) => void;
}

interface Measures {
  moduleUpload: number[];
  moduleUploadRss: number[];
  directUpload: number[];
  moduleDownload: number[];
  moduleDownloadRss: number[];
  directDownload: number[];
}

/** Measures, prints its table, writes bench/results/s3-latest.json; returns the medians. */
export async function benchS3({ quick, log }: S3BenchOptions): Promise<Record<keyof Measures, number>> {
  const plan = quick ? { size: 32 * MiB, rounds: 2 } : { size: 1024 * MiB, rounds: 3 };
  let postgres: RunningPostgres | undefined;
  if (!process.env.DATABASE_URL) {
    log('s3: DATABASE_URL is not set: starting an embedded PostgreSQL');
    postgres = await startEmbeddedPostgres();
    process.env.DATABASE_URL = postgres.url;
  }
  const database = await createTestDatabase('postgres');
  const s3 = await startS3Server();
  const work = await mkdtemp(join(tmpdir(), 'attachments-bench-s3-'));
  try {
    const bucket = await s3.createBucket();
    const source = join(work, 'source.bin');
    log(`s3: writing a ${plan.size / MiB} MiB source file`);
    await writeSourceFile(source, plan.size);
    const server = await startServer('module-s3', 'module-server', {
      ...database.env,
      ...s3.env,
      ATTACHMENTS_STORAGE: 's3',
      S3_BUCKET: bucket,
      S3_PREFIX: 'bench',
    });
    const measures: Measures = {
      moduleUpload: [],
      moduleUploadRss: [],
      directUpload: [],
      moduleDownload: [],
      moduleDownloadRss: [],
      directDownload: [],
    };
    try {
      // One unmeasured multipart round trip first, so that no measured round pays for what a
      // process allocates once (the SDK's clients, its multipart code, the heap's first growth):
      // the rows are about what a file costs, whatever its size.
      const warmUp = join(work, 'warm-up.bin');
      await writeFile(warmUp, randomBytes(3 * PART_SIZE));
      const warm = await uploadFile(`${server.baseUrl}/attachments/s3-warm-up`, warmUp, 3 * PART_SIZE, 'warm-up.bin');
      if (warm.status !== 201) throw new Error(`module on S3: the warm-up upload answered ${warm.status}`);
      await download(`${server.baseUrl}/attachments/s3-warm-up/warm-up.bin`, warm.cookie);
      await fetch(`${server.baseUrl}/attachments/s3-warm-up`, { method: 'DELETE', headers: { cookie: warm.cookie ?? '' } });
      for (let round = 1; round <= plan.rounds; round += 1) {
        log(`s3: ${plan.size / MiB} MiB up and down, round ${round}/${plan.rounds}`);
        // Who goes first alternates: the first meets whatever s3rver's disk is still writing.
        const steps = [
          async () => {
            const { result, peakGrowth } = await withPeakRss(server.pid, () =>
              uploadFile(`${server.baseUrl}/attachments/s3-big`, source, plan.size, 'big.bin'),
            );
            if (result.status !== 201) throw new Error(`module on S3: upload answered ${result.status}`);
            measures.moduleUpload.push(plan.size / MiB / result.seconds);
            measures.moduleUploadRss.push(peakGrowth / MiB);
            const fetched = await withPeakRss(server.pid, () =>
              download(`${server.baseUrl}/attachments/s3-big/big.bin`, result.cookie),
            );
            if (fetched.result.status !== 200 || fetched.result.bytes !== plan.size)
              throw new Error(`module on S3: download gave ${fetched.result.status}, ${fetched.result.bytes} bytes`);
            measures.moduleDownload.push(plan.size / MiB / fetched.result.seconds);
            measures.moduleDownloadRss.push(fetched.peakGrowth / MiB);
            await fetch(`${server.baseUrl}/attachments/s3-big`, { method: 'DELETE', headers: { cookie: result.cookie ?? '' } });
          },
          async () => {
            const key = `direct/${round}.bin`;
            let started = performance.now();
            await new Upload({
              client: s3.client,
              params: { Bucket: bucket, Key: key, Body: createReadStream(source, { highWaterMark: MiB }) },
              partSize: PART_SIZE,
              queueSize: QUEUE_SIZE,
            }).done();
            measures.directUpload.push(plan.size / MiB / ((performance.now() - started) / 1000));
            started = performance.now();
            const object = await s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
            let bytes = 0;
            for await (const chunk of object.Body as Readable) bytes += (chunk as Buffer).length;
            if (bytes !== plan.size) throw new Error(`direct SDK: download gave ${bytes} bytes`);
            measures.directDownload.push(plan.size / MiB / ((performance.now() - started) / 1000));
          },
        ];
        for (const step of round % 2 ? steps : steps.reverse()) await step();
      }
    } finally {
      await server.stop();
    }
    const perRound = (values: number[]) => values.map((value) => value.toFixed(1)).join(' / ');
    log(
      `s3: the app's peak RSS growth by round: upload ${perRound(measures.moduleUploadRss)} MiB, download ${perRound(measures.moduleDownloadRss)} MiB`,
    );
    const medians = Object.fromEntries(
      (Object.entries(measures) as Array<[keyof Measures, number[]]>).map(([key, values]) => [key, median(values)]),
    ) as Record<keyof Measures, number>;
    printTable(plan.size, plan.rounds, quick, medians);
    await mkdir(join(projectRoot, 'bench', 'results'), { recursive: true });
    await writeFile(
      join(projectRoot, 'bench', 'results', 's3-latest.json'),
      `${JSON.stringify({ quick, plan, date: new Date().toISOString(), node: process.version, measures, medians }, null, 2)}\n`,
    );
    console.log('written to bench/results/s3-latest.json');
    return medians;
  } finally {
    await s3.stop();
    await database.drop();
    await rm(work, { recursive: true, force: true });
    await postgres?.stop();
  }
}

function printTable(size: number, rounds: number, quick: boolean, m: Record<keyof Measures, number>): void {
  const f = (value: number) => (value >= 100 ? value.toFixed(0) : value.toFixed(1));
  const rows = [
    [
      `upload ${size / MiB} MiB`,
      'MiB/s',
      f(m.moduleUpload),
      f(m.directUpload),
      `${(m.moduleUpload / m.directUpload).toFixed(2)}×`,
    ],
    [`  peak RSS growth of the app`, 'MiB', f(m.moduleUploadRss), '', ''],
    [
      `download ${size / MiB} MiB`,
      'MiB/s',
      f(m.moduleDownload),
      f(m.directDownload),
      `${(m.moduleDownload / m.directDownload).toFixed(2)}×`,
    ],
    [`  peak RSS growth of the app`, 'MiB', f(m.moduleDownloadRss), '', ''],
  ];
  const header = ['measure (S3, s3rver on loopback)', 'unit', '(a) module, S3Storage', '(d) direct SDK', 'a/d'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) =>
    cells.map((cell, column) => (column < 2 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ');
  console.log(`\nnestjs-session-attachments bench, S3${quick ? ' (--quick)' : ''}: medians of ${rounds} rounds`);
  console.log(
    `(a) = the demo app on S3Storage, over HTTP; (d) = @aws-sdk/lib-storage Upload and GetObject from this process, same part size and queue`,
  );
  console.log(line(header));
  for (const row of rows) console.log(line(row));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const started = performance.now();
  await benchS3({
    quick: process.argv.includes('--quick'),
    log: (line) => process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`),
  });
}
