// The previews rows of the bench: previews/s of a 12-megapixel JPEG, made on first request and
// served from storage afterwards, the server's peak RSS growth while making one, and how long a
// decompression bomb takes to be refused. Module only: the baseline has no previews.
import autocannon from 'autocannon';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pngBomb, testImage } from '../test/support/images.js';
import { download, uploadFile, visitorCookies, withPeakRss, type BenchServer } from './support.js';

const MiB = 1024 * 1024;
/** A 12-megapixel camera frame. */
const WIDTH = 4000;
const HEIGHT = 3000;

export type RecordRow = (key: string, label: string, unit: string, better: 'higher' | 'lower', value: number) => void;

/** One round against a running module server (the demo app, previews on). */
export async function benchPreviews(server: BenchServer, record: RecordRow, options: { photos: number; cachedSeconds: number }) {
  const work = await mkdtemp(join(tmpdir(), 'attachments-bench-previews-'));
  try {
    const [cookie] = await visitorCookies(`${server.baseUrl}/attachments/previews`, 1);
    // Distinct photos (the noise differs each time): each first request makes a new preview.
    const names: string[] = [];
    for (let index = 0; index < options.photos; index += 1) {
      const name = `photo-${index}.jpg`;
      const path = join(work, name);
      await writeFile(path, await testImage(WIDTH, HEIGHT).jpeg({ quality: 90 }).toBuffer());
      const { size } = await stat(path);
      const uploaded = await uploadFile(`${server.baseUrl}/attachments/previews`, path, size, name, cookie);
      if (uploaded.status !== 201) throw new Error(`photo upload answered ${uploaded.status}`);
      names.push(name);
    }
    const previewUrl = (name: string) => `${server.baseUrl}/attachments/previews/${name}/preview`;

    const { result: seconds, peakGrowth } = await withPeakRss(server.pid, async () => {
      const started = performance.now();
      for (const name of names) {
        const answer = await download(previewUrl(name), cookie);
        if (answer.status !== 200) throw new Error(`first preview answered ${answer.status}`);
      }
      return (performance.now() - started) / 1000;
    });
    record('preview-first', 'previews of a 12 MP JPEG, first request', 'previews/s', 'higher', names.length / seconds);
    record('preview-rss', '  peak RSS growth while making them', 'MiB', 'lower', peakGrowth / MiB);

    const cached = await autocannon({
      url: previewUrl(names[0]!),
      connections: 8,
      duration: options.cachedSeconds,
      headers: { cookie: cookie! },
    });
    if (cached.non2xx > 0) throw new Error(`${cached.non2xx} cached previews were not 200`);
    record('preview-cached', '  cached (stored), 8 connections', 'previews/s', 'higher', cached.requests.average);

    const bombPath = join(work, 'bomb.png');
    const bomb = pngBomb(50_000, 50_000);
    await writeFile(bombPath, bomb);
    if ((await uploadFile(`${server.baseUrl}/attachments/previews`, bombPath, bomb.length, 'bomb.png', cookie)).status !== 201)
      throw new Error('the bomb was not stored');
    const refused = await withPeakRss(server.pid, () => download(previewUrl('bomb.png'), cookie));
    if (refused.result.status !== 422) throw new Error(`the bomb's preview answered ${refused.result.status}`);
    record('preview-bomb', '  50,000 × 50,000 PNG bomb refused in', 'ms', 'lower', refused.result.seconds * 1000);
    record('preview-bomb-rss', '  peak RSS growth refusing it', 'MiB', 'lower', refused.peakGrowth / MiB);

    await fetch(`${server.baseUrl}/attachments/previews`, { method: 'DELETE', headers: { cookie: cookie! } });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
