import { Command, CommandRunner, Option } from 'nest-commander';
import { SingleBar } from 'cli-progress';
import { formatBytes, formatDuration } from '../durations.js';
import type { OutdatedRow } from '../persistence/expiry-records.js';
import { AttachmentsSweeper } from './attachments-sweeper.js';
import { parseAge } from './age.js';
import { withMigrationsHint } from './missing-tables.js';

/** sysexits.h's EX_TEMPFAIL: another instance holds the sweep lock; try again later. */
const EXIT_TEMPORARY_FAILURE = 75;
const EXIT_FAILURE = 1;

/**
 * A bad flag value. commander reports an error with this code as its own (`error: option
 * '--older-than <age>' argument 'abc' is invalid. …`) and exits 1, as it does for an unknown
 * flag; any other error thrown by a parser reaches nest-commander's error handler, whose
 * default only prints (exit code 0). Duck-typed: commander is nest-commander's dependency, not
 * ours.
 */
class InvalidFlagError extends Error {
  readonly code = 'commander.invalidArgument';
}

interface RemoveOutdatedFlags {
  olderThan: number;
  dryRun?: boolean;
  verbose?: boolean;
}

/**
 * `remove-outdated-attachments --older-than=3`: the original app's management command, doing
 * what the scheduled sweep does (outdated attachments, then orphan blobs older than
 * `orphanGracePeriod`) under the same lock, with its own age.
 * Add it to a host's nest-commander root by importing AttachmentsModule and listing this class
 * among the providers.
 */
@Command({
  name: 'remove-outdated-attachments',
  description: 'Remove attachments not written for longer than --older-than, and orphan blobs',
})
export class RemoveOutdatedAttachmentsCommand extends CommandRunner {
  constructor(private readonly sweeper: AttachmentsSweeper) {
    super();
  }

  /**
   * The command takes no arguments, and commander (by default) and nest-commander (which can
   * only allow them) ignore extra ones: `--older-than=5 dry-run`, a dry run meant, removed files.
   * (commander's type through nest-commander's: commander is not a dependency of ours.)
   * @internal
   */
  override setCommand(command: Parameters<CommandRunner['setCommand']>[0]): this {
    command.allowExcessArguments(false);
    return super.setCommand(command);
  }

  /**
   * nest-commander calls it with the parsed flags; host code sweeps with AttachmentsSweeper.sweep.
   * @internal
   */
  async run(parameters: string[], flags: RemoveOutdatedFlags): Promise<void> {
    try {
      await this.removeOutdated(parameters, flags);
    } catch (error) {
      // nest-commander's default error handler (the README's cli.ts keeps it) prints the error
      // and leaves the exit code at 0: a cron job would take a failed round for a done one.
      // Rethrown, so that the host's own handler still reports it.
      process.exitCode = EXIT_FAILURE;
      throw withMigrationsHint(error);
    }
  }

  private async removeOutdated(_parameters: string[], flags: RemoveOutdatedFlags): Promise<void> {
    const out = process.stdout;
    // A progress bar only where a person watches, and not over the --verbose lines.
    const bar =
      out.isTTY && !flags.verbose ? new SingleBar({ format: 'Removing [{bar}] {value}/{total}', hideCursor: true }) : undefined;
    const now = Date.now();
    const started = performance.now();
    bar?.start(0, 0);
    // The scheduled sweep's round with this command's age: under the same one-sweeper lock,
    // orphan blobs included. The bar stops however the round ends: it hides the cursor and
    // redraws on a timer, so a failed round left the terminal without a cursor and the
    // process running.
    const report = await this.sweeper
      .sweep({
        olderThan: flags.olderThan,
        dryRun: flags.dryRun ?? false,
        onRemoved: flags.verbose ? (row) => out.write(`${describe(row, now)}\n`) : undefined,
        onProgress: bar
          ? (done, total) => {
              bar.setTotal(total);
              bar.update(done);
            }
          : undefined,
      })
      .finally(() => bar?.stop());
    if (!report) {
      // Not an error, but not done either: a cron job sees a temporary failure and tries later.
      process.stderr.write('Another instance is sweeping (it holds the sweep lock): nothing removed; try again later\n');
      process.exitCode = EXIT_TEMPORARY_FAILURE;
      return;
    }
    const { outdated, orphans, uploads } = report;
    const verb = flags.dryRun ? 'Would remove' : 'Removed';
    out.write(
      `${verb} ${outdated.count} attachment(s), ${formatBytes(outdated.bytes)}, and ${orphans} orphan blob(s), ` +
        `${uploads > 0 ? `and ${uploads} unfinished resumable upload(s), ` : ''}in ${formatDuration(performance.now() - started)}\n`,
    );
  }

  @Option({
    flags: '--older-than <age>',
    description: 'age of the last write: days (3), or a duration such as 36h, 90m, 2s',
    required: true,
  })
  parseOlderThan(value: string): number {
    try {
      return parseAge(value);
    } catch (error) {
      throw new InvalidFlagError((error as Error).message);
    }
  }

  @Option({ flags: '--dry-run', description: 'count what would be removed (orphan blobs too), remove nothing' })
  parseDryRun(): boolean {
    return true;
  }

  @Option({ flags: '-v, --verbose', description: 'print one line per attachment removed' })
  parseVerbose(): boolean {
    return true;
  }
}

function describe(row: OutdatedRow, now: number): string {
  const age = formatDuration(now - row.updatedAt);
  return `${row.sessionKey.slice(0, 6)}… ${row.bundle}/${row.name} ${formatBytes(row.size)} ${age} old`;
}
