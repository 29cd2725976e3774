import type { CanActivate, Type } from '@nestjs/common';
import type { Request } from 'express';
import type { InspectHook } from './inspection/inspect-hook.js';
import type { OwnerResolver } from './owner.js';
import type { PreviewSharp } from './previews/preview-sharp.js';
import type { AttachmentStorage } from './storage/attachment-storage.js';
import { formatDuration, MAX_TIMER_DELAY, parseByteSize, parseDuration } from './durations.js';

/** A duration in milliseconds, or a string with a unit such as `90s`, `15m`, `36h`, `3d` (never `"3"`). */
export type Duration = number | string;
/** A size in bytes, or a string such as `512kb`, `50MB`, `1.5 GiB` (binary units: 1 kb = 1024 bytes). */
export type ByteSize = number | string;

export interface AttachmentsLimits {
  /** Largest file, checked while it streams. Default `50MB` (the original app's limit). */
  fileSize?: ByteSize;
  /** Most files in one upload request. Default 20. */
  filesPerRequest?: number;
  /** Most attachments in one bundle. Default 100. */
  filesPerBundle?: number;
  /** Most bytes one session may hold across its bundles. Default `500MB`. */
  bytesPerSession?: ByteSize;
  /** Most bundles one session may hold. Default 50. */
  bundlesPerSession?: number;
  /** Most non-file fields in one multipart body (widgets send a few). Default 50. */
  fields?: number;
  /** Largest non-file field value. Default `64kb`. */
  fieldSize?: ByteSize;
  /** Most parts (files + fields) in one multipart body. Default 100. */
  parts?: number;
  /** Most header lines in one part. Default 20. */
  headerPairs?: number;
}

/** Image previews, made with the sharp the host passes in. */
export interface PreviewsOptions {
  /** `import sharp from 'sharp'` in the host, passed as is: the module never imports it. */
  sharp: PreviewSharp;
  /** Images declaring more pixels than this are refused from their header (decompression bombs). Default 50,000,000. */
  maxInputPixels?: number;
  /** Longest time one preview may take to make; rounded up to whole seconds (sharp's unit). Default `10s`. */
  timeout?: Duration;
}

export interface AttachmentsModuleOptions {
  /**
   * Where the bytes go. Default: a `DiskStorage` under `./var/attachments` (relative to the
   * working directory). Use a shared store (S3) when several instances serve one app.
   */
  storage?: AttachmentStorage;
  limits?: AttachmentsLimits;
  /**
   * Media types accepted, detected from the content (names only when the content says nothing):
   * exact types and wildcards such as `image/*`. Default: every type.
   */
  allowedTypes?: string[];
  /**
   * Origins (`https://app.example.com`) besides the app's own whose pages may upload and delete.
   * Browsers' cross-site requests from anywhere else get 403.
   */
  trustedOrigins?: string[];
  /** An upload that sends nothing for this long is cut off with 408. At most ~24.8 days. Default `30s`. */
  uploadIdleTimeout?: Duration;
  /** An upload that takes longer than this in all is cut off with 408. At most ~24.8 days. Default `1h`. */
  uploadTimeout?: Duration;
  /** Attachments untouched for this long are removed by the sweep. Default `24h`. */
  expireAfter?: Duration;
  /** How often the sweep runs; `false` turns it off (run the CLI command instead). Default `15m`. */
  sweepEvery?: Duration | false;
  /**
   * Blobs no row references are removed once older than this. Must be longer than
   * `uploadTimeout`, so that no upload still arriving loses its bytes. Default `2h`.
   */
  orphanGracePeriod?: Duration;
  /** Rows removed per transaction by the sweep. Default 5000. */
  sweepBatchSize?: number;
  /**
   * Who owns a request's attachments: a function of the Express request (sync or async), e.g.
   * `(request) => request.user && 'user:' + request.user.sub` behind the host's auth guard
   * (see the `guards` extra). No owner (`undefined`, `null`, `''`) is `401 owner_required`.
   * Default: the anonymous visitor's session key (`sessionKeyOf`), which needs express-session.
   */
  owner?: OwnerResolver<Request>;
  /**
   * Thumbnails of image attachments at `GET …/:bundle/:name/preview`, made on first request and
   * stored: `previews: { sharp }`. Off by default (the route then answers `404 no_preview`).
   */
  previews?: PreviewsOptions;
  /**
   * Sees each uploaded file after its bytes are stored and before it becomes visible (a virus
   * scanner, a policy check). Throw `AttachmentRejected` to refuse it (422); any other error
   * refuses it with 503. Either way the whole request stores nothing.
   */
  inspect?: InspectHook;
  /** How long `inspect` may take for one file before its signal aborts (503). At most ~24.8 days. Default `30s`. */
  inspectTimeout?: Duration;
  /**
   * Files of at most this size are stored in the database with their row, committed by the
   * same statement, instead of in the `storage`: one durable commit instead of a file flush, a
   * folder flush and a commit. `0` keeps every file in the storage. At most `1mb`. Default `64kb`.
   */
  inlineMaxSize?: ByteSize;
  /**
   * A resumable (tus) upload that receives nothing for this long is removed with its bytes by
   * the sweep; a finished one's record (which answers HEAD) is forgotten after as long, never
   * its attachment. Default `24h`.
   */
  resumableExpireAfter?: Duration;
}

/** The extras that shape the module itself, given beside the options to forRoot/forRootAsync. */
export interface AttachmentsModuleExtras {
  /** Route prefix. Default `attachments`. */
  path: string;
  /**
   * Guards that run in front of the module's routes, before the owner is resolved: the host's
   * auth guard, so that the `owner` option can read `request.user`. Classes are resolved in the
   * module (their own providers must be reachable from it: a global module such as the Nest
   * docs' `JwtModule.register({ global: true })`, or forRootAsync's `imports`); instances are
   * used as they are. They are extras, like `path`, because routes are fixed when the module is
   * defined. Default: none.
   */
  guards?: Array<Type<CanActivate> | CanActivate>;
  /**
   * The resumable upload routes (tus 1.0) at `…/:bundle/tus`: `false` mounts none. An extra,
   * like `path`, because routes are fixed when the module is defined. Default `true`.
   */
  resumable?: boolean;
}

export interface ResolvedLimits {
  fileSize: number;
  filesPerRequest: number;
  filesPerBundle: number;
  bytesPerSession: number;
  bundlesPerSession: number;
  fields: number;
  fieldSize: number;
  parts: number;
  headerPairs: number;
}

export interface ResolvedPreviews {
  sharp: PreviewSharp;
  maxInputPixels: number;
  timeoutSeconds: number;
}

export interface ResolvedAttachmentsOptions {
  storage: AttachmentStorage | undefined;
  limits: ResolvedLimits;
  allowedTypes: readonly string[] | undefined;
  trustedOrigins: readonly string[];
  uploadIdleTimeout: number;
  uploadTimeout: number;
  expireAfter: number;
  sweepEvery: number | false;
  orphanGracePeriod: number;
  sweepBatchSize: number;
  owner: OwnerResolver<Request> | undefined;
  previews: ResolvedPreviews | undefined;
  inspect: InspectHook | undefined;
  inspectTimeout: number;
  inlineMaxSize: number;
  resumableExpireAfter: number;
}

/** Every default, in one place. */
export const DEFAULT_OPTIONS = {
  limits: {
    fileSize: '50MB',
    filesPerRequest: 20,
    filesPerBundle: 100,
    bytesPerSession: '500MB',
    bundlesPerSession: 50,
    fields: 50,
    fieldSize: '64kb',
    parts: 100,
    headerPairs: 20,
  },
  uploadIdleTimeout: '30s',
  uploadTimeout: '1h',
  expireAfter: '24h',
  sweepEvery: '15m',
  orphanGracePeriod: '2h',
  sweepBatchSize: 5000,
  previews: { maxInputPixels: 50_000_000, timeout: '10s' },
  inspectTimeout: '30s',
  inlineMaxSize: '64kb',
  resumableExpireAfter: '24h',
} as const;

/**
 * The largest `inlineMaxSize`: each inline file is held in memory until its row commits, and
 * above about 1 MB a file system serves bytes faster than a database (Sears et al., 2006).
 */
export const MAX_INLINE_SIZE = 1024 * 1024;

export const DEFAULT_ATTACHMENTS_DIRECTORY = 'var/attachments';

/** Thrown at start-up: the message names the option and says what it accepts. */
export class InvalidAttachmentsOptionError extends Error {
  constructor(option: string, expected: string, got: unknown) {
    super(`AttachmentsModule option "${option}" must be ${expected}; got ${describe(got)}`);
    this.name = 'InvalidAttachmentsOptionError';
  }
}

/**
 * Merges the defaults once and validates every option, so a typo fails at start-up. An option
 * given as `undefined` (`limits: { fileSize: undefined }`, often a missing environment value)
 * takes its default.
 */
export function resolveOptions(options: AttachmentsModuleOptions = {}): ResolvedAttachmentsOptions {
  const limits = { ...DEFAULT_OPTIONS.limits, ...definedOnly(options.limits ?? {}) };
  const storage = options.storage;
  if (storage !== undefined && !isStorage(storage)) {
    throw new InvalidAttachmentsOptionError('storage', 'an AttachmentStorage (write, read, delete, list)', storage);
  }
  const uploadTimeout = timerDuration('uploadTimeout', options.uploadTimeout ?? DEFAULT_OPTIONS.uploadTimeout);
  const orphanGracePeriod = duration('orphanGracePeriod', options.orphanGracePeriod ?? DEFAULT_OPTIONS.orphanGracePeriod, 0);
  // The orphan sweep must never take the temporary file of an upload that is still arriving.
  if (orphanGracePeriod <= uploadTimeout) {
    throw new InvalidAttachmentsOptionError(
      'orphanGracePeriod',
      `longer than option "uploadTimeout" (${formatDuration(uploadTimeout)}), or the orphan sweep could ` +
        `delete the bytes of an upload still arriving or committing`,
      options.orphanGracePeriod ?? DEFAULT_OPTIONS.orphanGracePeriod,
    );
  }
  return {
    storage,
    limits: {
      fileSize: size('limits.fileSize', limits.fileSize, 1),
      filesPerRequest: count('limits.filesPerRequest', limits.filesPerRequest),
      filesPerBundle: count('limits.filesPerBundle', limits.filesPerBundle),
      bytesPerSession: size('limits.bytesPerSession', limits.bytesPerSession, 1),
      bundlesPerSession: count('limits.bundlesPerSession', limits.bundlesPerSession),
      fields: count('limits.fields', limits.fields, 0),
      fieldSize: size('limits.fieldSize', limits.fieldSize, 0),
      parts: count('limits.parts', limits.parts),
      headerPairs: count('limits.headerPairs', limits.headerPairs),
    },
    allowedTypes: options.allowedTypes === undefined ? undefined : mediaTypes(options.allowedTypes),
    trustedOrigins: origins(options.trustedOrigins ?? []),
    uploadIdleTimeout: timerDuration('uploadIdleTimeout', options.uploadIdleTimeout ?? DEFAULT_OPTIONS.uploadIdleTimeout),
    uploadTimeout,
    expireAfter: duration('expireAfter', options.expireAfter ?? DEFAULT_OPTIONS.expireAfter, 1),
    // No upper bound: the schedule counts steps that Node's timers can hold (sweep-schedule.ts).
    sweepEvery:
      options.sweepEvery === false ? false : duration('sweepEvery', options.sweepEvery ?? DEFAULT_OPTIONS.sweepEvery, 100),
    orphanGracePeriod,
    sweepBatchSize: count('sweepBatchSize', options.sweepBatchSize ?? DEFAULT_OPTIONS.sweepBatchSize),
    owner: ownerResolver(options.owner),
    previews: options.previews === undefined ? undefined : previews(options.previews),
    inspect: inspectHook(options.inspect),
    inspectTimeout: timerDuration('inspectTimeout', options.inspectTimeout ?? DEFAULT_OPTIONS.inspectTimeout),
    inlineMaxSize: inlineSize(options.inlineMaxSize ?? DEFAULT_OPTIONS.inlineMaxSize),
    resumableExpireAfter: duration(
      'resumableExpireAfter',
      options.resumableExpireAfter ?? DEFAULT_OPTIONS.resumableExpireAfter,
      1,
    ),
  };
}

/** The `resumable` extra: whether the tus routes are mounted. */
export function resolveResumable(value: unknown): boolean {
  if (value === undefined) return true;
  if (typeof value !== 'boolean') {
    throw new InvalidAttachmentsOptionError('resumable', 'true or false (whether the tus routes are mounted)', value);
  }
  return value;
}

function ownerResolver(value: unknown): OwnerResolver<Request> | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') {
    throw new InvalidAttachmentsOptionError(
      'owner',
      "a function of the request that returns the owner's key, e.g. (request) => request.user && 'user:' + request.user.sub",
      value,
    );
  }
  return value as OwnerResolver<Request>;
}

/** The `guards` extra: guard classes or instances, each with `canActivate`. */
export function resolveGuards(guards: unknown): Array<Type<CanActivate> | CanActivate> {
  if (guards === undefined) return [];
  const isGuard = (guard: unknown) =>
    (typeof guard === 'function' &&
      typeof (guard as { prototype?: { canActivate?: unknown } }).prototype?.canActivate === 'function') ||
    (typeof guard === 'object' && guard !== null && typeof (guard as { canActivate?: unknown }).canActivate === 'function');
  if (!Array.isArray(guards) || !guards.every(isGuard)) {
    throw new InvalidAttachmentsOptionError('guards', 'an array of guards (CanActivate classes or instances)', guards);
  }
  return guards as Array<Type<CanActivate> | CanActivate>;
}

function previews(value: unknown): ResolvedPreviews {
  const given = value as Partial<PreviewsOptions> | null;
  if (typeof given !== 'object' || given === null || typeof given.sharp !== 'function') {
    throw new InvalidAttachmentsOptionError(
      'previews',
      "an object with the host's sharp: `import sharp from 'sharp'`, then `previews: { sharp }`",
      value,
    );
  }
  const defaults = DEFAULT_OPTIONS.previews;
  const timeout = timerDuration('previews.timeout', given.timeout ?? defaults.timeout);
  return {
    sharp: given.sharp,
    maxInputPixels: count('previews.maxInputPixels', given.maxInputPixels ?? defaults.maxInputPixels),
    timeoutSeconds: Math.ceil(timeout / 1000),
  };
}

function inspectHook(value: unknown): InspectHook | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') {
    throw new InvalidAttachmentsOptionError('inspect', 'a function (file, signal) => Promise<void>', value);
  }
  return value as InspectHook;
}

export function resolvePath(path: unknown): string {
  const valid =
    typeof path === 'string' &&
    /^\/?[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*\/?$/.test(path) &&
    !path.split('/').some((segment) => segment === '.' || segment === '..');
  if (!valid) {
    throw new InvalidAttachmentsOptionError('path', 'a URL path such as "attachments" or "api/uploads"', path);
  }
  return path.replace(/^\/|\/$/g, '');
}

function mediaTypes(value: unknown): string[] {
  const valid =
    Array.isArray(value) && value.every((type) => typeof type === 'string' && /^[a-z]+\/([a-z0-9.+-]+|\*)$/i.test(type));
  if (!valid)
    throw new InvalidAttachmentsOptionError(
      'allowedTypes',
      'an array of media types such as "application/pdf" or "image/*"',
      value,
    );
  return (value as string[]).map((type) => type.toLowerCase());
}

function origins(value: unknown): string[] {
  const valid =
    Array.isArray(value) &&
    value.every((origin) => typeof origin === 'string' && URL.canParse(origin) && new URL(origin).origin === origin);
  if (!valid)
    throw new InvalidAttachmentsOptionError('trustedOrigins', 'an array of origins such as "https://app.example.com"', value);
  return value as string[];
}

function count(option: string, value: unknown, min = 1): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new InvalidAttachmentsOptionError(option, `a whole number >= ${min}`, value);
  }
  return value;
}

const SIZE_GRAMMAR =
  'a whole number of bytes, or a number with a unit b, kb, mb, gb, tb (binary: 1 kb = 1024 bytes; ' +
  'kib, mib, gib, tib alike; any case) such as "512kb", "50MB", "1.5 GiB"';

const DURATION_GRAMMAR =
  'a number of milliseconds, or a string with a unit ms, s, m, h, d, w, y (or their long names) ' +
  'such as "90s", "15m", "36h", "3d"; a string without a unit is refused, since "3" could mean ms or days';

function size(option: string, value: unknown, min: number): number {
  const parsed = parseByteSize(value);
  if (parsed === undefined || parsed < min) {
    throw new InvalidAttachmentsOptionError(option, `a size >= ${min} byte(s): ${SIZE_GRAMMAR}`, value);
  }
  return parsed;
}

function inlineSize(value: unknown): number {
  const parsed = parseByteSize(value);
  if (parsed === undefined || parsed > MAX_INLINE_SIZE) {
    throw new InvalidAttachmentsOptionError(
      'inlineMaxSize',
      `a size from 0 (nothing inline) to 1mb (${MAX_INLINE_SIZE} bytes): ${SIZE_GRAMMAR}`,
      value,
    );
  }
  return parsed;
}

function duration(option: string, value: unknown, min: number): number {
  const parsed = parseDuration(value);
  if (parsed === undefined || parsed < min) {
    throw new InvalidAttachmentsOptionError(option, `a duration >= ${min} ms: ${DURATION_GRAMMAR}`, value);
  }
  return parsed;
}

/** A duration used as one timer's delay: Node fires longer delays at once, so they are refused. */
function timerDuration(option: string, value: unknown): number {
  const parsed = duration(option, value, 1);
  if (parsed > MAX_TIMER_DELAY) {
    throw new InvalidAttachmentsOptionError(
      option,
      `at most ${MAX_TIMER_DELAY} ms (about 24.8 days, the longest delay Node's timers hold)`,
      value,
    );
  }
  return parsed;
}

/** The entries not given as undefined, so that they do not override a default. */
function definedOnly<T extends object>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as Partial<T>;
}

function isStorage(value: unknown): value is AttachmentStorage {
  const candidate = value as Partial<Record<keyof AttachmentStorage, unknown>> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.write === 'function' &&
    typeof candidate.read === 'function' &&
    typeof candidate.delete === 'function' &&
    typeof candidate.list === 'function'
  );
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || typeof value !== 'object') return String(value);
  return Object.prototype.toString.call(value);
}
