import { Controller, Get, HttpCode, HttpStatus, Post, Req, UseGuards } from '@nestjs/common';
import type { Request } from 'express';
import {
  AttachmentOwners,
  CrossSiteRequestGuard,
  regenerateSessionKeepingAttachments,
  sessionKeyOf,
} from './attachments/index.js';

declare module 'express-session' {
  interface SessionData {
    /** The demo's signed-in user, set by POST /demo/login. */
    demoUser?: string;
  }
}

/** The demo's one user: no password, the point is the draft that survives signing in. */
export const DEMO_USER = 'demo';

/**
 * The demo's owner: the signed-in user's files once logged in (on any device), the anonymous
 * session's before. What a host with its own login writes as the module's `owner` option.
 */
export function demoOwner(request: Request): string {
  const user = request.session?.demoUser;
  return user ? `user:${user}` : sessionKeyOf(request);
}

/**
 * A fixed-user login that keeps the visitor's anonymous draft: the session is regenerated
 * (against session fixation), then its attachments are adopted by the user.
 */
@Controller('demo')
@UseGuards(CrossSiteRequestGuard)
export class DemoLoginController {
  constructor(private readonly owners: AttachmentOwners) {}

  @Get('me')
  me(@Req() request: Request): { user: string | null } {
    return { user: request.session?.demoUser ?? null };
  }

  @Post('login')
  @HttpCode(HttpStatus.OK)
  async login(@Req() request: Request): Promise<{ user: string; adopted: number }> {
    if (request.session.sessionAttachmentsKey) await regenerateSessionKeepingAttachments(request);
    else await regenerate(request);
    request.session.demoUser = DEMO_USER;
    const adopted = await this.owners.adoptAttachments(request, `user:${DEMO_USER}`);
    return { user: DEMO_USER, adopted: adopted.length };
  }

  @Post('logout')
  @HttpCode(HttpStatus.NO_CONTENT)
  logout(@Req() request: Request): Promise<void> {
    // A fresh session: the user's files stay the user's, the next visitor starts empty.
    return regenerate(request);
  }
}

function regenerate(request: Request): Promise<void> {
  return new Promise((resolve, reject) => request.session.regenerate((error?: Error) => (error ? reject(error) : resolve())));
}
