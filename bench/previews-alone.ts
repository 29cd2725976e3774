// `npm run build && node dist/bench/previews-alone.js`: the previews rows alone, against the
// demo app on SQLite, without the rest of the bench (which needs PostgreSQL and a few minutes).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchPreviews } from './previews.js';
import { startServer } from './support.js';

const work = await mkdtemp(join(tmpdir(), 'attachments-previews-alone-'));
const server = await startServer('module', 'module-server', {
  DATABASE_URL: '',
  DATABASE_PATH: join(work, 'attachments.sqlite'),
  ATTACHMENTS_DIR: join(work, 'files'),
});
try {
  for (let round = 1; round <= 3; round += 1) {
    console.log(`round ${round}`);
    await benchPreviews(
      server,
      (_key, label, unit, _better, value) => console.log(`  ${label.trim()}: ${value.toFixed(1)} ${unit}`),
      {
        photos: 5,
        cachedSeconds: 3,
      },
    );
  }
} finally {
  await server.stop();
  await rm(work, { recursive: true, force: true });
}
