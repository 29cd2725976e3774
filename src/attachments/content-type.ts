import mime from 'mime-types';

/** What we call a file whose type nothing reveals (RFC 2046), not the original's `octet/stream`. */
export const UNKNOWN_TYPE = 'application/octet-stream';

/** The media type of a stored file, from its name's extension. */
export function typeFromName(name: string): string {
  return mime.lookup(name) || UNKNOWN_TYPE;
}
