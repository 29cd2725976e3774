// `npm run build && node dist/bench/memory-touch.js [--gib=6] [--again-after=20]`: how long this
// machine takes to write into memory, 1 GiB at a time (a buffer filled, kept until the end so
// that each GiB is new memory to the process, in a child process whose exit frees it all), and
// how much free memory the kernel handed back to the host meanwhile (page-reporting.ts). With
// `--again-after=S`, S seconds after the first child exited a second one does the same: memory
// written shortly before is fast to write into, memory the host took back in between is not.
// This is what moves the big-upload rows of the bench between rounds (README, Benchmarks); it
// needs a machine with that much memory free.
import { spawnSync } from 'node:child_process';
import { reportedKib } from './page-reporting.js';
import { option } from './cli-options.js';

const GiB = 1024 ** 3;
const gib = Number(option('gib') ?? 6);
const againAfter = option('again-after');
if (!Number.isInteger(gib) || gib < 1) throw new Error(`--gib=${option('gib')}: a whole number of GiB, at least 1`);

/** In a child: fills `gib` new 1 GiB buffers one after the other; prints the seconds each took. */
function fill(label: string): void {
  const kept: Buffer[] = [];
  const seconds: string[] = [];
  for (let index = 0; index < gib; index += 1) {
    const started = performance.now();
    const buffer = Buffer.allocUnsafeSlow(GiB);
    buffer.fill(1);
    kept.push(buffer);
    seconds.push(((performance.now() - started) / 1000).toFixed(2));
  }
  console.log(`${label}: seconds per GiB written ${seconds.join(', ')}`);
}

const reportedMiB = async (since: number | undefined) => {
  const now = await reportedKib();
  return now === undefined || since === undefined ? 'unknown' : `${((now - since) / 1024).toFixed(0)} MiB`;
};

/** Runs `fill` in a child process, whose exit gives all its memory back to the kernel. */
function fillInChild(label: string): void {
  const child = spawnSync(process.execPath, [process.argv[1]!, `--gib=${gib}`, `--fill=${label}`], { stdio: 'inherit' });
  if (child.status !== 0) throw new Error(`the ${label} fill failed (${child.status ?? child.signal})`);
}

const childLabel = option('fill');
if (childLabel !== undefined) {
  fill(childLabel);
  process.exit(0);
}
const before = await reportedKib();
fillInChild('first');
console.log(`handed back to the host so far in this run: ${await reportedMiB(before)}`);
if (againAfter !== undefined) {
  const seconds = Number(againAfter);
  if (!(seconds >= 0)) throw new Error(`--again-after=${againAfter}: seconds, 0 or more`);
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  console.log(`after ${seconds} s: handed back to the host so far in this run: ${await reportedMiB(before)}`);
  fillInChild('again');
}
