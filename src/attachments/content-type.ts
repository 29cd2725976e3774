import { fileTypeFromBuffer } from 'file-type';
import mime from 'mime-types';

/** What we call a file whose type nothing reveals (RFC 2046), not the original's `octet/stream`. */
export const UNKNOWN_TYPE = 'application/octet-stream';

/** How many leading bytes the content sniffing needs (file-type's documented sample size). */
export const SNIFF_BYTES = 4100;

/**
 * The media type of an uploaded file: what its content shows (magic numbers, via file-type),
 * else what its name's extension says, else unknown. The type the client declared is never
 * used: it is whatever the client wants it to be.
 */
export async function detectType(head: Uint8Array, name: string): Promise<string> {
  const sniffed = await fileTypeFromBuffer(head);
  return sniffed?.mime ?? (mime.lookup(name) || UNKNOWN_TYPE);
}

/** Whether `type` matches one of `allowed`: exact types, or `image/*` style wildcards. */
export function isAllowedType(type: string, allowed: readonly string[] | undefined): boolean {
  if (!allowed) return true;
  return allowed.some((pattern) => (pattern.endsWith('/*') ? type.startsWith(pattern.slice(0, -1)) : type === pattern));
}
