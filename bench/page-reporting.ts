import { readFile } from 'node:fs/promises';

const REPORTED_KIB = '/sys/module/page_reporting/parameters/reported_kib';

/**
 * How much free memory this (virtual) machine has handed back to its host so far, in KiB, by
 * Linux's free page reporting (virtio-balloon); undefined where the kernel does not expose it.
 * Why the bench reads it: memory handed back is backed again by the host only when the guest
 * next writes to it, and that first write is slow. On the machine kind this project is built
 * on, writing 1 GiB into such memory took 3.1-3.4 s against 0.55-0.7 s into memory written
 * recently; a big upload that lands in the page cache on such pages runs in the slow mode the
 * README's Benchmarks section describes, whichever server receives it.
 */
export async function reportedKib(): Promise<number | undefined> {
  try {
    const value = Number((await readFile(REPORTED_KIB, 'utf8')).trim());
    return Number.isFinite(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Resolves once the kernel has handed back to the host what it is going to of the memory freed
 * lately: `reported_kib` unchanged for `quietMs` (longer than the kernel's two-second pass), or
 * after `limitMs` whatever it does. Memory freed shortly before is fast to write into until
 * then: a measurement right after a discarded upload (its page cache freed) wrote its page
 * cache into fast memory, one after a step that kept its file into memory handed back, and the
 * order of the servers decided which ran in which mode. At once where the kernel does not
 * report free pages.
 */
export async function untilPageReportingQuiet(quietMs = 3000, limitMs = 20_000): Promise<void> {
  let last = await reportedKib();
  if (last === undefined) return;
  const started = performance.now();
  let quietSince = started;
  while (performance.now() - started < limitMs) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const now = await reportedKib();
    if (now !== last) {
      last = now;
      quietSince = performance.now();
    } else if (performance.now() - quietSince >= quietMs) return;
  }
}
