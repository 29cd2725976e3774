import { createHash, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';

/** One PATCH's bytes being hashed on their way to the storage, continuing its upload's hash. */
export interface FollowedPatch {
  readonly id: string;
  /** The upload's offset when the PATCH started. */
  readonly start: number;
  /** The upload's hash of the bytes before `start`, then of every byte this PATCH's source gave. */
  readonly hash: Hash;
  /** How many bytes of the source it hashed (at most the `maxBytes` it was followed with). */
  bytes(): number;
}

interface HashState {
  offset: number;
  hash: Hash;
  touchedAt: number;
}

/**
 * The SHA-256 of each upload this process served, as far as its committed offset, so that the
 * finish need not read the whole upload again to hash it. A speed-up only, never the truth: an
 * upload of which another instance took a PATCH, or that outlived a restart, or whose PATCH
 * stored other bytes than were hashed, has no usable state here, and the finish then reads the
 * bytes as before. Offsets only grow, so a state whose offset is not the PATCH's is never
 * usable again.
 *
 * A PATCH hashes a copy of the state; the copy becomes the upload's state only once the PATCH's
 * compare-and-set commit counted it (`keep`), so a PATCH that lost a race leaves nothing.
 * Bounded: at most `maxUploads` states (the least recently moved go first), none older than
 * `forgetAfter` (an upload untouched that long has expired), none after `forget`.
 */
export class RunningHashes {
  private readonly states = new Map<string, HashState>();

  constructor(
    private readonly maxUploads: number,
    private readonly forgetAfter: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Starts hashing what `source` gives (cut at `maxBytes`, as the storage cuts it) when the hash
   * of the upload's bytes before `offset` is known: at offset 0, or from this process's state
   * at that offset. Undefined otherwise. Attach it before the storage consumes `source`.
   */
  follow(id: string, offset: number, source: Readable, maxBytes: number): FollowedPatch | undefined {
    const state = this.states.get(id);
    let hash: Hash;
    if (offset === 0) hash = createHash('sha256');
    else if (state?.offset === offset) hash = state.hash.copy();
    else return undefined;
    let bytes = 0;
    source.on('data', (chunk: Buffer) => {
      const room = maxBytes - bytes;
      if (room <= 0) return;
      const piece = chunk.byteLength > room ? chunk.subarray(0, room) : chunk;
      bytes += piece.byteLength;
      hash.update(piece);
    });
    // The listener must not start the flow before the storage's consumer is attached.
    source.pause();
    return { id, start: offset, hash, bytes: () => bytes };
  }

  /**
   * After the PATCH's commit moved the upload to `start + stored`: its hash is the upload's state
   * there, if it hashed exactly the `stored` bytes the storage stored (else the upload has none).
   */
  keep(patch: FollowedPatch | undefined, id: string, stored: number): void {
    if (!patch || patch.bytes() !== stored) {
      this.forget(id);
      return;
    }
    const now = this.now();
    this.states.delete(id);
    this.states.set(id, { offset: patch.start + stored, hash: patch.hash, touchedAt: now });
    for (const [oldest, state] of this.states) {
      if (this.states.size <= this.maxUploads && state.touchedAt >= now - this.forgetAfter) break;
      this.states.delete(oldest);
    }
  }

  /**
   * The upload's SHA-256 at its finish, when the final PATCH hashed every byte from offset 0
   * (through the states before it) and exactly the `stored` bytes that complete `length`.
   */
  digest(patch: FollowedPatch | undefined, stored: number, length: number): string | undefined {
    if (!patch || patch.bytes() !== stored || patch.start + stored !== length) return undefined;
    return patch.hash.digest('hex');
  }

  forget(id: string): void {
    this.states.delete(id);
  }
}
