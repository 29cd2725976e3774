import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';

/**
 * The path of a program that Debian packages (haproxy, redis-server), or why a test cannot run.
 * Outside CI a missing program is reported loudly and the caller skips; in CI (CI=true) it
 * throws, because .ci/run installs it.
 */
export function debianBinary(name: string, aptPackage = name): { path: string } | { missing: string } {
  // sbin too: haproxy lives in /usr/sbin, which a non-root PATH may lack.
  const folders = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/bin', '/sbin', '/bin'].filter(Boolean);
  for (const folder of folders) {
    const path = join(folder, name);
    try {
      accessSync(path, constants.X_OK);
      return { path };
    } catch {
      // not in this folder
    }
  }
  const message = `${name} is not installed (apt-get install -y ${aptPackage}): the tests that need it cannot run`;
  if (process.env.CI) throw new Error(message);
  console.warn(`\n*** ${message} ***\n`);
  return { missing: message };
}
