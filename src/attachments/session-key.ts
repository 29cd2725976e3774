import { Logger } from '@nestjs/common';
import type { Request } from 'express';
import { randomBytes } from 'node:crypto';
// Loads express-session's types, which add `request.session` to Express's Request.
import type {} from 'express-session';
import { ATTACHMENT_ERRORS, AttachmentsException } from './attachments.errors.js';
import type { OwnerKey } from './owner.js';

declare module 'express-session' {
  interface SessionData {
    /** The owner key of this visitor's anonymous attachments (see sessionKeyOf). */
    sessionAttachmentsKey?: string;
  }
}

/** Whether a request without a session was logged since a request last had one. */
let missingSessionLogged = false;

/** @deprecated Since 0.2: use `OwnerKey` (an owner may now be a user); removed in the next version. */
export type SessionKey = OwnerKey;

/**
 * The default owner: an anonymous visitor's key, 144 random bits kept in their express
 * session, made on their first request to any attachments route. It is not the session id, so
 * the attachments table never holds a value that would let its reader take over a live
 * session, and it can outlive `session.regenerate()` at login. Writing it marks the session as
 * modified, so express-session saves it and sends the cookie even with
 * `saveUninitialized: false`.
 */
export function sessionKeyOf(request: Request): OwnerKey {
  const session = request.session as Request['session'] | undefined;
  if (!session) {
    // A 500 that Nest's filter does not log (it is an HttpException): the operator hears of it
    // here, once per outage rather than once per request.
    if (!missingSessionLogged) {
      missingSessionLogged = true;
      new Logger('AttachmentsModule').error(ATTACHMENT_ERRORS.session_middleware_missing.message);
    }
    throw AttachmentsException.create('session_middleware_missing');
  }
  missingSessionLogged = false;
  session.sessionAttachmentsKey ??= randomBytes(18).toString('base64url');
  return session.sessionAttachmentsKey as OwnerKey;
}

/**
 * `request.session.regenerate()` (do it at login, against session fixation) that keeps the
 * visitor's attachments: the new session gets the old session's key.
 */
export async function regenerateSessionKeepingAttachments(request: Request): Promise<void> {
  const key = sessionKeyOf(request);
  await new Promise<void>((resolve, reject) =>
    request.session.regenerate((error?: Error) => (error ? reject(error) : resolve())),
  );
  request.session.sessionAttachmentsKey = key;
}
