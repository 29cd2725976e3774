// How fast this machine runs right now, against the fastest it ran during the bench.
//
// Why: the host of this machine kind runs its vCPUs at two speeds. A fixed piece of work (an
// integer loop and SHA-256 of 128 MiB, `node` with nothing else running) took 122-150 ms of CPU
// in some seconds and 348-381 ms in others, for seconds or minutes at a time, and the servers'
// CPU per MiB of the same 1 GiB upload moved the same way between rounds (2.0-2.8 ms against
// 5.5-5.9). A measurement taken in a slow spell says nothing about the code, and with three or
// five rounds one such spell moves a median. So each measurement starts when a probe finds the
// machine at full speed, and a probe right after it tells whether the spell came meanwhile.
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

/** A probe that took this much longer than the fastest one ran in a slow spell. */
export const SLOW_FACTOR = 1.3;

const block = Buffer.alloc(1024 * 1024, 7);
/** Where the loop's result goes, so that the loop cannot be optimised away. */
let _sink = 0;

/** CPU milliseconds (user + system) of a fixed piece of work: about 16 ms at full speed here. */
function probe(): number {
  const started = process.cpuUsage();
  let value = 0;
  for (let index = 0; index < 6_000_000; index += 1) value = (value * 31 + index) | 0;
  const hash = createHash('sha256');
  for (let index = 0; index < 16; index += 1) hash.update(block);
  hash.digest();
  const used = process.cpuUsage(started);
  _sink ^= value;
  return (used.user + used.system) / 1000;
}

export class MachineSpeed {
  private fastest = Infinity;
  private last: { at: number; factor: number } | undefined;

  /** Probes a few times so that "fastest" means something before the first measurement. */
  calibrate(): void {
    for (let index = 0; index < 10; index += 1) this.factor();
  }

  /** This moment's probe time over the fastest probe so far (1 = full speed). */
  factor(): number {
    const took = probe();
    this.fastest = Math.min(this.fastest, took);
    this.last = { at: performance.now(), factor: took / this.fastest };
    return this.last.factor;
  }

  /** The factor of a probe taken in the last second, or of a new one (several figures of one measurement share it). */
  recentFactor(): number {
    return this.last && performance.now() - this.last.at < 1000 ? this.last.factor : this.factor();
  }

  /**
   * Waits, probing every second, until the machine runs at full speed or `patienceMs` have
   * passed; returns the last factor (above SLOW_FACTOR when the patience ran out).
   */
  async fullSpeed(patienceMs: number): Promise<number> {
    const deadline = performance.now() + patienceMs;
    let factor = this.factor();
    while (factor > SLOW_FACTOR && performance.now() < deadline) {
      await sleep(1000);
      factor = this.factor();
    }
    return factor;
  }
}
