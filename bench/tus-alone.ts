// `npm run build && node dist/bench/tus-alone.js [--quick] [--rounds=N] [--tus-only]`: the tus row alone (one
// file over tus in 8 MiB PATCHes against the same file as one multipart upload, on the demo app
// as shipped, durable, on PostgreSQL), without the rest of the bench. With
// `BENCH_PROFILE=<folder>` the server runs under `node --cpu-prof` (see bench/support.ts).
import { join } from 'node:path';
import { settle, startAloneRun } from './alone-run.js';
import { curlUpload } from './curl-client.js';
import { median, startServer, withPeakRss } from './support.js';
import { chunksOf, tusUploadFile } from './tus.js';

const MiB = 1024 * 1024;
const quick = process.argv.includes('--quick');
const roundsArgument = process.argv.find((arg) => arg.startsWith('--rounds='));
const size = (quick ? 64 : 1024) * MiB;
const rounds = roundsArgument ? Number(roundsArgument.slice('--rounds='.length)) : 3;
const PATCH = 8 * MiB;
/** `--tus-only`: no multipart uploads (a profile of the tus path alone). */
const tusOnly = process.argv.includes('--tus-only');

const { database, work, source, end } = await startAloneRun('tus-alone', size);
await chunksOf(source, size, PATCH);
const server = await startServer('module', 'module-server', { ...database.env, ATTACHMENTS_DIR: join(work, 'files') });

const results = {
  multipart: [] as number[],
  tus: [] as number[],
  multipartRss: [] as number[],
  tusRss: [] as number[],
  tusLastPatch: [] as number[],
};
try {
  for (let round = 1; round <= rounds; round += 1) {
    const steps = [
      async () => {
        await settle();
        const { result, peakGrowth } = await withPeakRss(server.pid, () =>
          curlUpload(`${server.baseUrl}/attachments/plain`, source, 'big.bin'),
        );
        if (result.status !== 201) throw new Error(`multipart upload answered ${result.status}`);
        results.multipart.push(size / MiB / result.seconds);
        results.multipartRss.push(peakGrowth / MiB);
        await fetch(`${server.baseUrl}/attachments/plain`, { method: 'DELETE', headers: { cookie: result.cookie ?? '' } });
      },
      async () => {
        await settle();
        const { result, peakGrowth } = await withPeakRss(server.pid, () =>
          tusUploadFile(server.baseUrl, 'tus', source, size, 'big.bin', PATCH),
        );
        if (result.status !== 204) throw new Error(`tus upload answered ${result.status}: ${result.attachment ?? ''}`);
        results.tus.push(size / MiB / result.seconds);
        results.tusRss.push(peakGrowth / MiB);
        results.tusLastPatch.push(result.lastPatchSeconds);
        await fetch(`${server.baseUrl}/attachments/tus`, { method: 'DELETE', headers: { cookie: result.cookie ?? '' } });
      },
    ];
    if (tusOnly) steps.shift();
    for (const step of round % 2 || tusOnly ? steps : steps.reverse()) await step();
    console.log(
      `round ${round}: multipart ${results.multipart.at(-1)?.toFixed(0)} MiB/s (RSS +${results.multipartRss.at(-1)?.toFixed(1)} MiB), ` +
        `tus ${results.tus.at(-1)!.toFixed(0)} MiB/s (RSS +${results.tusRss.at(-1)!.toFixed(1)} MiB, ` +
        `final PATCH with the finish ${results.tusLastPatch.at(-1)!.toFixed(2)} s)`,
    );
  }
  const [tus, multipart] = [median(results.tus), median(results.multipart)];
  console.log(
    `${size / MiB} MiB, medians of ${rounds}: multipart ${multipart.toFixed(0)} MiB/s, tus in ${PATCH / MiB} MiB PATCHes ` +
      `${tus.toFixed(0)} MiB/s (${(tus / multipart).toFixed(2)}×), peak RSS growth tus ${median(results.tusRss).toFixed(1)} MiB`,
  );
} finally {
  await server.stop();
  await end();
}
