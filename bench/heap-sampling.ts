// `BENCH_HEAP_PROFILE=<folder>`: every bench server runs with this module preloaded (node
// --import), which samples what the server allocates on its JavaScript heap from its start to
// its exit, collected objects included, and writes `<folder>/<name>.<pid>.heapprofile` (open it
// in Chrome DevTools, Memory). Node's own --heap-prof keeps only what is still alive at exit:
// young garbage, which is what makes a busy server's collections, never shows there. A
// diagnosis, never a measured run (sampling slows the server).
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const folder = process.env.BENCH_HEAP_PROFILE;
if (folder) {
  const session = new Session();
  session.connect();
  session.post('HeapProfiler.enable');
  session.post('HeapProfiler.startSampling', {
    samplingInterval: 4096,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  process.once('exit', () => {
    // The in-process inspector answers before post returns, so this still runs on exit.
    session.post('HeapProfiler.getSamplingProfile', (error, result) => {
      if (error) return void process.stderr.write(`heap sampling: ${error.message}\n`);
      const name = process.env.BENCH_SERVER_NAME ?? 'server';
      writeFileSync(join(folder, `${name}.${process.pid}.heapprofile`), JSON.stringify(result.profile));
    });
  });
}
