import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { randomBytes } from 'node:crypto';
// Loads express-session's types, which add `request.session` to Express's Request.
import type {} from 'express-session';
import { AttachmentsException } from './attachments.errors.js';

declare module 'express-session' {
  interface SessionData {
    /** The owner key of this visitor's attachments (see SessionKey). */
    sessionAttachmentsKey?: string;
  }
}

/**
 * The owner of a visitor's attachments: 144 random bits kept in the visitor's express session.
 * It is not the session id, so the attachments table never holds a value that would let its
 * reader take over a live session, and it can outlive `session.regenerate()` at login.
 */
export type SessionKey = string & { readonly __sessionKey: unique symbol };

/**
 * The visitor's key, made on their first request to any attachments route. Writing it marks
 * the session as modified, so express-session saves it and sends the cookie even with
 * `saveUninitialized: false`.
 */
export function sessionKeyOf(request: Request): SessionKey {
  const session = request.session as Request['session'] | undefined;
  if (!session) throw AttachmentsException.create('session_middleware_missing');
  session.sessionAttachmentsKey ??= randomBytes(18).toString('base64url');
  return session.sessionAttachmentsKey as SessionKey;
}

/**
 * A parameter decorator for host controllers: the current visitor's SessionKey, to pass to
 * AttachmentsService (e.g. `take(key, 'draft-1', handler)` on a host's "submit" route).
 */
export const CurrentSessionKey = createParamDecorator((_data: unknown, context: ExecutionContext): SessionKey =>
  sessionKeyOf(context.switchToHttp().getRequest<Request>()),
);

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
