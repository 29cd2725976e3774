// The Nest docs' JWT authentication (@nestjs/jwt and a guard that verifies the bearer token and
// sets `request.user`), as a host app has it, and the module configured to own files by user.
import { Injectable, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { JwtModule, JwtService } from '@nestjs/jwt';
import type { Request } from 'express';
import type { StartOptions } from './test-app.js';

export const JWT_SECRET = 'test jwt secret';

export interface TokenPayload {
  sub: string;
}

type AuthenticatedRequest = Request & { user?: TokenPayload };

@Injectable()
export class JwtAuthGuard implements CanActivate {
  constructor(private readonly jwt: JwtService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const [type, token] = request.headers.authorization?.split(' ') ?? [];
    if (type !== 'Bearer' || !token) throw new UnauthorizedException();
    try {
      request.user = await this.jwt.verifyAsync<TokenPayload>(token);
    } catch {
      throw new UnauthorizedException();
    }
    return true;
  }
}

/** The app's options for a JWT-owned module: a global JwtModule, the guard, `user:<sub>` owners. */
export function jwtOwnedApp(extra: StartOptions = {}): StartOptions {
  return {
    ...extra,
    imports: [JwtModule.register({ global: true, secret: JWT_SECRET }), ...(extra.imports ?? [])],
    attachments: {
      guards: [JwtAuthGuard],
      owner: (request: AuthenticatedRequest) => request.user && `user:${request.user.sub}`,
      ...extra.attachments,
    },
  };
}

/** A token as the host's login would sign it; `exp` in the past makes an expired one at once. */
export function signToken(payload: TokenPayload & { exp?: number }, secret = JWT_SECRET): Promise<string> {
  return new JwtService({ secret }).signAsync(payload);
}
