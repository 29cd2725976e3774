import {
  createParamDecorator,
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  type ExecutionContext,
  type PipeTransform,
} from '@nestjs/common';
import type { Request } from 'express';
import type { Attachment } from './attachment.js';
import { AttachmentsException } from './attachments.errors.js';
import type { ResolvedAttachmentsOptions } from './attachments.options.js';
import { AttachmentsService } from './attachments.service.js';
import { RESOLVED_ATTACHMENTS_OPTIONS } from './attachments.tokens.js';
import { ownerKey, type OwnerKey } from './owner.js';
import { sessionKeyOf } from './session-key.js';

/** Where a request keeps its resolved owner, so the module's routes and host routes agree. */
const RESOLVED_OWNER = Symbol('nestjs-session-attachments owner');
type RequestWithOwner = Request & { [RESOLVED_OWNER]?: OwnerKey };

/**
 * The owner of a request, resolved once per request with the module's `owner` option (by
 * default the visitor's session key), and the adoption of a session's drafts at login.
 * The module's routes and `@CurrentOwner()` on host routes both ask it, so they always agree.
 */
@Injectable()
export class AttachmentOwners {
  constructor(
    @Inject(RESOLVED_ATTACHMENTS_OPTIONS) private readonly options: ResolvedAttachmentsOptions,
    private readonly attachments: AttachmentsService,
  ) {}

  /** The request's owner; `401 owner_required` when the resolver finds none. */
  async of(request: Request): Promise<OwnerKey> {
    const cached = (request as RequestWithOwner)[RESOLVED_OWNER];
    if (cached !== undefined) return cached;
    const resolver = this.options.owner ?? sessionKeyOf;
    let resolved: unknown;
    try {
      resolved = await resolver(request);
    } catch (error) {
      if (
        error instanceof HttpException &&
        error.getStatus() === (HttpStatus.UNAUTHORIZED as number) &&
        !isOwnerRequired(error)
      ) {
        throw AttachmentsException.create('owner_required', undefined, { cause: error });
      }
      throw error;
    }
    if (resolved === undefined || resolved === null || resolved === '') throw AttachmentsException.create('owner_required');
    if (typeof resolved !== 'string') {
      throw new TypeError(
        `The AttachmentsModule option "owner" must return a string, or undefined when the request has no owner; got ${typeof resolved}`,
      );
    }
    const owner = ownerKey(resolved);
    (request as RequestWithOwner)[RESOLVED_OWNER] = owner;
    return owner;
  }

  /**
   * Moves the attachments of the request's anonymous session (its session key) to `newOwner`,
   * e.g. `'user:' + user.id` on the login route, in one transaction (see
   * `AttachmentsService.adopt` for the same-name rule). The session then forgets its key: after
   * a logout that keeps the session, the visitor starts an empty anonymous draft. A session
   * that never used the attachments adopts nothing. Returns the attachments that moved. Throws
   * when the module has no `owner` option (see above).
   */
  async adoptAttachments(request: Request, newOwner: string): Promise<Attachment[]> {
    // Without an `owner` option every request's owner is its session key, so no request would
    // ever be `newOwner`: the files would move out of everyone's reach.
    if (this.options.owner === undefined) {
      throw new Error(
        `adoptAttachments: this AttachmentsModule has no "owner" option, so every request is owned by its session and ` +
          `no request would ever be ${JSON.stringify(newOwner)}; set "owner" (e.g. the signed-in user, else sessionKeyOf(request)) ` +
          'or keep the attachments with the session at login (regenerateSessionKeepingAttachments)',
      );
    }
    const session = request.session as Request['session'] | undefined;
    const anonymous = session?.sessionAttachmentsKey;
    if (!session || anonymous === undefined) return [];
    const into = ownerKey(newOwner);
    const adopted = await this.attachments.adopt(ownerKey(anonymous), into);
    delete session.sessionAttachmentsKey;
    // This request's later look-ups (a host route after login) see the new owner.
    if ((request as RequestWithOwner)[RESOLVED_OWNER] === anonymous) delete (request as RequestWithOwner)[RESOLVED_OWNER];
    return adopted;
  }
}

function isOwnerRequired(error: HttpException): boolean {
  return error instanceof AttachmentsException && error.code === 'owner_required';
}

/** Turns the request into its owner, with the module's resolver (reached through DI). */
@Injectable()
export class CurrentOwnerPipe implements PipeTransform<Request, Promise<OwnerKey>> {
  constructor(private readonly owners: AttachmentOwners) {}

  transform(request: Request): Promise<OwnerKey> {
    return this.owners.of(request);
  }
}

const currentRequest = createParamDecorator((_data: unknown, context: ExecutionContext): Request =>
  context.switchToHttp().getRequest<Request>(),
);

/**
 * A parameter decorator for host controllers: the request's owner as the module resolves it
 * (the `owner` option, by default the session key), to pass to `AttachmentsService`, e.g.
 * `take(owner, 'draft-1', handler)` on a host's "submit" route. It runs after the route's
 * guards, so an auth guard's `request.user` is there. The controller's module must see
 * `AttachmentsModule` (the pipe behind it is resolved there): import it, or register the
 * module with `isGlobal: true`.
 */
export const CurrentOwner = (): ParameterDecorator => currentRequest(CurrentOwnerPipe);

/** @deprecated Since 0.2: use `@CurrentOwner()`, which it now is; removed in the next version. */
export const CurrentSessionKey = CurrentOwner;
