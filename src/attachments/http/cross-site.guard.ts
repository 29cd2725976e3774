import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { AttachmentsException } from '../attachments.errors.js';
import type { ResolvedAttachmentsOptions } from '../attachments.options.js';
import { RESOLVED_ATTACHMENTS_OPTIONS } from '../attachments.tokens.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Refuses state-changing requests that a browser marks as coming from another site, so a
 * page elsewhere cannot make a visitor's browser delete or replace their attachments with
 * the visitor's cookie. Clients that send neither header (curl, servers) are not browsers
 * acting for someone else, and pass.
 */
@Injectable()
export class CrossSiteRequestGuard implements CanActivate {
  constructor(@Inject(RESOLVED_ATTACHMENTS_OPTIONS) private readonly options: ResolvedAttachmentsOptions) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<Request>();
    if (SAFE_METHODS.has(request.method)) return true;
    const origin = request.headers.origin;
    if (origin && this.options.trustedOrigins.includes(origin)) return true;
    if (request.headers['sec-fetch-site'] === 'cross-site') {
      throw AttachmentsException.create('cross_site_request', 'the browser marked this request as cross-site');
    }
    if (origin && !isSameHost(origin, request.headers.host)) {
      throw AttachmentsException.create('cross_site_request', `origin ${origin} is not trusted (see the trustedOrigins option)`);
    }
    return true;
  }
}

/** The scheme is left out: behind a TLS-terminating proxy the app itself sees plain http. */
function isSameHost(origin: string, host: string | undefined): boolean {
  if (!host || !URL.canParse(origin)) return false;
  return new URL(origin).host === host;
}
