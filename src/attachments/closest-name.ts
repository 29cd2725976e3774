// Which known name an unknown one was meant to be: the "did you mean" of the option checks.

/**
 * The path of the spelling closest to `key` (case aside), if one is close enough to be a typo
 * of it; the first of equally close ones, so callers list the likelier level first.
 */
export function closest(key: string, spellings: ReadonlyArray<readonly [spelling: string, path: string]>): string | undefined {
  let best: { path: string; distance: number } | undefined;
  for (const [spelling, path] of spellings) {
    const distance = editDistance(key.toLowerCase(), spelling.toLowerCase());
    // Up to one edit per four letters, at most two: `fileSzie` is `fileSize`, `path` is not `parts`.
    if (distance <= Math.min(2, Math.floor(spelling.length / 4)) && (best === undefined || distance < best.distance)) {
      best = { path, distance };
    }
  }
  return best?.path;
}

/** Edits (insert, delete, replace) plus swaps of two neighbouring letters (`Szie`), one step each. */
function editDistance(a: string, b: string): number {
  const width = b.length + 1;
  const steps = new Array<number>((a.length + 1) * width).fill(0);
  const at = (i: number, j: number) => steps[i * width + j]!;
  for (let i = 0; i <= a.length; i++) steps[i * width] = i;
  for (let j = 0; j <= b.length; j++) steps[j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      let distance = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) distance = Math.min(distance, at(i - 2, j - 2) + 1);
      steps[i * width + j] = distance;
    }
  }
  return at(a.length, b.length);
}
