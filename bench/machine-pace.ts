import { createHash } from 'node:crypto';

/** The fixed work: JSON of these records both ways, and SHA-256 of this buffer. */
const RECORDS = Array.from({ length: 2_000 }, (_, index) => ({
  name: `file-${index}.txt`,
  size: index * 37,
  sha256: index.toString(16).padStart(64, '0'),
  created: new Date(1_700_000_000_000 + index).toISOString(),
}));
const BYTES = Buffer.alloc(32 * 1024 * 1024, 7);

function fixedWork(): void {
  for (let pass = 0; pass < 30; pass += 1) JSON.parse(JSON.stringify(RECORDS));
  createHash('sha256').update(BYTES).digest();
}

/**
 * Milliseconds the same piece of CPU work takes now (the least of three tries), in the bench's
 * own process while no server is loaded: the machine's pace at that moment.
 *
 * Why: on the virtual machines this project is built on, the same server's CPU per 1 KiB upload
 * moved by up to half between rounds minutes apart, and a ratio of two servers measured in
 * different such phases says little. Measured right before and after each burst, the pace says
 * whether the machine itself was slower meanwhile. In the runs made when this was added it was
 * not (58-84 ms around every burst, most 58-66, with no relation to the servers' moves), so those
 * moves are the servers' own; `small-cpu` also prints each one's system time, context switches
 * and page faults per request, which move with them.
 */
export function machinePaceMs(): number {
  let least = Number.POSITIVE_INFINITY;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const started = performance.now();
    fixedWork();
    least = Math.min(least, performance.now() - started);
  }
  return least;
}
