/**
 * Polls `check` until it holds, for things the server does asynchronously (a socket noticed
 * closed, a scheduled sweep, a process up). The limit only ends a hang: it is far beyond what a
 * loaded machine needs, and a passing test returns as soon as the check holds.
 */
export async function waitFor(check: () => Promise<boolean> | boolean, timeout = 60_000, every = 25): Promise<boolean> {
  const deadline = Date.now() + timeout;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, every));
  }
}
