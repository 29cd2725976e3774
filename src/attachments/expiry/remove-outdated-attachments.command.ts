import { Command, CommandRunner, Option } from 'nest-commander';
import { SingleBar } from 'cli-progress';
import { formatBytes, formatDuration } from '../durations.js';
import type { OutdatedRow } from '../persistence/expiry-records.js';
import { AttachmentsSweeper } from './attachments-sweeper.js';
import { parseAge } from './age.js';

interface RemoveOutdatedFlags {
  olderThan: number;
  dryRun?: boolean;
  verbose?: boolean;
}

/**
 * `remove-outdated-attachments --older-than=3`: the original app's management command.
 * Add it to a host's nest-commander root by importing AttachmentsModule and listing this class
 * among the providers.
 */
@Command({
  name: 'remove-outdated-attachments',
  description: 'Remove attachments not written for longer than --older-than',
})
export class RemoveOutdatedAttachmentsCommand extends CommandRunner {
  constructor(private readonly sweeper: AttachmentsSweeper) {
    super();
  }

  async run(_parameters: string[], flags: RemoveOutdatedFlags): Promise<void> {
    const out = process.stdout;
    // A progress bar only where a person watches, and not over the --verbose lines.
    const bar =
      out.isTTY && !flags.verbose ? new SingleBar({ format: 'Removing [{bar}] {value}/{total}', hideCursor: true }) : undefined;
    const now = Date.now();
    bar?.start(0, 0);
    const report = await this.sweeper.removeOutdated({
      olderThan: flags.olderThan,
      dryRun: flags.dryRun ?? false,
      onRemoved: flags.verbose ? (row) => out.write(`${describe(row, now)}\n`) : undefined,
      onProgress: bar
        ? (done, total) => {
            bar.setTotal(total);
            bar.update(done);
          }
        : undefined,
    });
    bar?.stop();
    const verb = flags.dryRun ? 'Would remove' : 'Removed';
    out.write(`${verb} ${report.count} attachment(s), ${formatBytes(report.bytes)}, in ${formatDuration(report.durationMs)}\n`);
  }

  @Option({
    flags: '--older-than <age>',
    description: 'age of the last write: days (3), or a duration such as 36h, 90m, 2s',
    required: true,
  })
  parseOlderThan(value: string): number {
    return parseAge(value);
  }

  @Option({ flags: '--dry-run', description: 'print what would be removed, remove nothing' })
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
