import { existsSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/**
 * Debian's Chromium, headless. Outside CI a missing browser is reported loudly and the test
 * is skipped; in CI (CI=true) it fails, because .ci/run installs the browser.
 */
export async function launchChromium(t: TestContext): Promise<Browser | undefined> {
  if (!existsSync(CHROMIUM)) {
    const message = `Chromium is not installed at ${CHROMIUM} (apt-get install chromium): browser tests cannot run`;
    if (process.env.CI) throw new Error(message);
    console.warn(`\n*** ${message} ***\n`);
    t.skip(message);
    return undefined;
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
}
