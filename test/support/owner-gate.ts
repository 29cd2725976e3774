import type { IncomingMessage, ServerResponse } from 'node:http';

/** A request as the server holds it, with its response (to see how and when it is answered). */
export type HeldRequest = IncomingMessage & { res: ServerResponse };

/** A request waiting in the owner resolver, and what lets it go on. */
export interface Held {
  request: HeldRequest;
  release: () => void;
}

/**
 * An `owner` resolver that holds every request marked with an `x-hold` header until the test
 * releases it: a fixed moment after a request has arrived and before its body is read, where a
 * test can cut the connection.
 */
export class OwnerGate {
  private onHeld: ((held: Held) => void) | undefined;

  constructor(private readonly owner: string) {}

  readonly resolve = async (request: unknown): Promise<string> => {
    const incoming = request as HeldRequest;
    if (incoming.headers['x-hold'] !== undefined)
      await new Promise<void>((release) => this.onHeld?.({ request: incoming, release }));
    return this.owner;
  };

  /** The next request held; ask before sending it. */
  nextHeld(): Promise<Held> {
    return new Promise((resolve) => (this.onHeld = resolve));
  }
}
