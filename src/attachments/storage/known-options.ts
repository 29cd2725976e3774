import { closest } from '../closest-name.js';

/**
 * Refuses an options object with a key the storage does not know, naming the option it was
 * probably meant to be: a misspelt `durabel` or `endpiont` would otherwise be ignored without a
 * word (a storage that flushes after all, or one that talks to AWS instead of the local server).
 */
export function refuseUnknownOptions(storage: string, options: object, known: readonly string[]): void {
  for (const name of Object.keys(options)) {
    if (known.includes(name)) continue;
    const meant = closest(
      name,
      known.map((option) => [option, option] as const),
    );
    throw new Error(
      `${storage}: option \`${name}\` is unknown${meant ? `: did you mean \`${meant}\`?` : `; the options are ${known.join(', ')}`}`,
    );
  }
}
