import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { RESOLVED_ATTACHMENTS_OPTIONS } from '../attachments.tokens.js';
import type { ResolvedAttachmentsOptions } from '../attachments.options.js';
import { formatBytes, formatDuration, MAX_TIMER_DELAY } from '../durations.js';
import { AttachmentsSweeper } from './attachments-sweeper.js';

let schedules = 0;

/**
 * Runs the sweep every `sweepEvery` on @nestjs/schedule's registry (so the host can see and
 * stop it), one round at a time, with an unref'd timer that never keeps a process alive. An
 * interval longer than Node's timers can hold (`30d`) is counted in shorter steps. On app.close()
 * it starts no more rounds, and the one running stops at its next batch: close() waits for the
 * batch under way, whose database and storage are still open then (TypeORM closes its
 * connection in a later hook), but not for a sweep of millions of rows to end.
 */
@Injectable()
export class SweepSchedule implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('AttachmentsSweep');
  private round: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Aborted by app.close(): the round under way stops at its next batch. */
  private readonly closing = new AbortController();

  constructor(
    private readonly sweeper: AttachmentsSweeper,
    private readonly registry: SchedulerRegistry,
    @Inject(RESOLVED_ATTACHMENTS_OPTIONS) private readonly options: ResolvedAttachmentsOptions,
  ) {}

  onApplicationBootstrap(): void {
    const every = this.options.sweepEvery;
    if (every === false) return;
    // Node's timers hold at most ~24.8 days and fire a longer delay at once, over and over: a
    // longer interval ticks in equal steps that fit, and the sweep runs on every `steps`-th tick.
    const steps = Math.ceil(every / MAX_TIMER_DELAY);
    let tick = 0;
    const onTick = () => {
      tick = (tick + 1) % steps;
      if (tick === 0) void this.runOnce();
    };
    this.timer = setInterval(onTick, Math.ceil(every / steps));
    this.timer.unref();
    schedules += 1;
    this.registry.addInterval(`session-attachments-sweep${schedules > 1 ? `-${schedules}` : ''}`, this.timer);
  }

  /**
   * The first of close()'s hooks: @nestjs/schedule clears its intervals only in the next one, so
   * the timer stops here, and the round under way stops after its batch, before TypeORM destroys
   * its connection (a round cut off there fails half-way: a logged error at every shutdown that
   * caught a sweep). What it left is the next round's, in this instance or another.
   */
  async onModuleDestroy(): Promise<void> {
    this.closing.abort();
    clearInterval(this.timer);
    await this.round;
  }

  /** One round; a round still running when the next is due makes that one skip. */
  runOnce(): Promise<void> {
    if (this.closing.signal.aborted) return Promise.resolve();
    this.round ??= this.sweepOnce().finally(() => (this.round = undefined));
    return this.round;
  }

  private async sweepOnce(): Promise<void> {
    const started = performance.now();
    try {
      const report = await this.sweeper.sweep({ olderThan: this.options.expireAfter, signal: this.closing.signal });
      if (!report) {
        this.logger.log('Sweep skipped: another instance holds the sweep lock');
        return;
      }
      const { outdated, orphans, uploads } = report;
      this.logger.log(
        `Sweep${this.closing.signal.aborted ? ' (stopped early: the app is closing)' : ''} removed ${outdated.count} attachment(s), ${formatBytes(outdated.bytes)}, and ${orphans} orphan blob(s) ` +
          `${uploads > 0 ? `(and ${uploads} unfinished resumable upload(s)) ` : ''}in ${formatDuration(performance.now() - started)}`,
      );
    } catch (error) {
      this.logger.error(`Sweep failed; the next round retries: ${String(error)}`);
    }
  }
}
