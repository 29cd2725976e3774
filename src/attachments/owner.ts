import { createHash } from 'node:crypto';

/**
 * Who an attachment belongs to, as stored: an opaque key of at most 64 characters (the width of
 * the `session_key` column). By default the visitor's random session key (see `sessionKeyOf`);
 * with the `owner` option, whatever the host's resolver returns, e.g. `user:42`.
 */
export type OwnerKey = string & { readonly __ownerKey: unique symbol };

/**
 * The host's answer to "whose attachments does this request touch": a key such as
 * `'user:' + request.user.sub`, or `undefined`/`null`/`''` when the request has no owner
 * (answered `401 owner_required`). It runs after the guards of the `guards` extra, so what
 * an auth guard put on the request (`request.user`) is there. Throwing an
 * `UnauthorizedException` is answered `401 owner_required` too; any other error propagates.
 */
export type OwnerResolver<TRequest = never> = (
  request: TRequest,
) => string | null | undefined | Promise<string | null | undefined>;

export const MAX_OWNER_KEY_LENGTH = 64;

/** Marks a stored key that is a hash; a key stored as given never starts with it. */
const HASHED = '~';
const VERBATIM = /^[!-}][!-~]{0,63}$/;

/**
 * The stored form of an owner's key. A key of 1-64 printable ASCII characters that does not
 * start with `~` is stored as given, so the table stays readable (`user:42`); any other key (a
 * long e-mail address, non-ASCII, control characters) is stored as `~` and the base64url
 * SHA-256 of its UTF-8 bytes (44 characters). Hashing instead of refusing: a resolver built on
 * e-mail addresses or provider ids would otherwise fail for only some users, in production.
 * The `~` mark keeps the mapping one-to-one: no key given verbatim can equal a hashed one.
 */
export function ownerKey(key: string): OwnerKey {
  if (typeof key !== 'string' || key === '') {
    throw new TypeError(`An owner key must be a non-empty string; got ${key === '' ? 'an empty string' : typeof key}`);
  }
  if (VERBATIM.test(key) && key.length <= MAX_OWNER_KEY_LENGTH) return key as OwnerKey;
  return `${HASHED}${createHash('sha256').update(key, 'utf8').digest('base64url')}` as OwnerKey;
}
