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
