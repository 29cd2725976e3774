import { open } from 'node:fs/promises';

interface FolderState {
  running?: Promise<void>;
  queued?: Promise<void>;
}

/**
 * Group commit for directory flushes. A flush covers every entry made in the folder before it
 * started, so a writer that arrives while one runs waits for the next, and everyone who
 * arrives meanwhile shares that one: under load a folder is flushed a few times, not once per
 * file.
 */
export class FolderFlusher {
  private readonly folders = new Map<string, FolderState>();

  /** `flushOne` is the flush itself (an fsync of the folder); tests pass their own. */
  constructor(private readonly flushOne: (folder: string) => Promise<void> = flushFolder) {}

  /** Resolves once every entry made in `folder` before the call is on the device. */
  flush(folder: string): Promise<void> {
    let state = this.folders.get(folder);
    if (!state) {
      state = {};
      this.folders.set(folder, state);
    }
    if (!state.running) return this.start(folder, state);
    const current = state;
    current.queued ??= current.running!.then(noop, noop).then(() => {
      current.queued = undefined;
      return this.start(folder, current);
    });
    return current.queued;
  }

  private start(folder: string, state: FolderState): Promise<void> {
    const run = this.flushOne(folder).finally(() => {
      if (state.running !== run) return;
      state.running = undefined;
      if (!state.queued) this.folders.delete(folder);
    });
    state.running = run;
    return run;
  }
}

function noop(): void {}

/** An fsync of a folder: makes the entries created in it durable. */
export async function flushFolder(folder: string): Promise<void> {
  const handle = await open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
