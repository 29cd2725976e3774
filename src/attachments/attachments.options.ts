import type { CanActivate, ConfigurableModuleAsyncOptions, Type } from '@nestjs/common';
import { deprecate } from 'node:util';
import type { Request } from 'express';
import { closest } from './closest-name.js';
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
  /**
   * @deprecated Since 0.2: ignored, as it always was (busboy's multipart parser does not read it;
   * it caps each part's header at 2,000 lines and 16 KiB itself). Setting it warns once; removed
   * in the next version.
   */
  headerPairs?: number;
}

/** Image previews, made with the sharp the host passes in. */
export interface PreviewsOptions {
  /** `import sharp from 'sharp'` in the host, passed as is: the module never imports it. */
  sharp: PreviewSharp;
  /** Images declaring more pixels than this are refused from their header (decompression bombs). Default 50,000,000. */
  maxInputPixels?: number;
  /**
   * Longest time each step of making a preview may take: waiting for a turn, reading the source,
   * rendering; rounded up to whole seconds (sharp's unit). Default `10s`.
   */
  timeout?: Duration;
  /**
   * Previews made at once in one process; more first requests wait for a turn, at most
   * `timeout` (then `503 preview_busy`). Each holds its source in memory (up to
   * `limits.fileSize`) and its decoded pixels. Default 2.
   */
  concurrency?: number;
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
  /**
   * Registers the module globally, so that every module of the app can inject
   * `AttachmentsService` and use `@CurrentOwner()` and `CrossSiteRequestGuard` without importing
   * it (call forRoot once: a second call mounts the routes again and runs a second sweep). An
   * extra, like `path`, because it shapes the module itself. Default `false`.
   */
  isGlobal?: boolean;
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
}

export interface ResolvedPreviews {
  sharp: PreviewSharp;
  maxInputPixels: number;
  timeoutSeconds: number;
  concurrency: number;
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
  },
  uploadIdleTimeout: '30s',
  uploadTimeout: '1h',
  expireAfter: '24h',
  sweepEvery: '15m',
  orphanGracePeriod: '2h',
  sweepBatchSize: 5000,
  previews: { maxInputPixels: 50_000_000, timeout: '10s', concurrency: 2 },
  inspectTimeout: '30s',
  inlineMaxSize: '64kb',
  resumableExpireAfter: '24h',
} as const;

/** The extras' defaults; their keys are also the list of extras, which forRoot takes out of the options. */
export const DEFAULT_EXTRAS: Readonly<Required<AttachmentsModuleExtras>> = {
  path: 'attachments',
  guards: [],
  resumable: true,
  isGlobal: false,
};

/**
 * The largest `inlineMaxSize`: each inline file is held in memory until its row commits, and
 * above about 1 MB a file system serves bytes faster than a database (Sears et al., 2006).
 */
export const MAX_INLINE_SIZE = 1024 * 1024;

export const DEFAULT_ATTACHMENTS_DIRECTORY = 'var/attachments';

/** Thrown at start-up: the message names the option and says what it accepts. */
export class InvalidAttachmentsOptionError extends Error {
  /** `option` (a path such as `limits.fileSize`) must be `expected`, and was `got`. */
  constructor(option: string, expected: string, got: unknown);
  /** A problem told whole: an unknown key, options that are no object. */
  constructor(problem: { message: string });
  constructor(option: string | { message: string }, expected?: string, got?: unknown) {
    super(
      typeof option === 'string'
        ? `AttachmentsModule option "${option}" must be ${expected}; got ${describe(got)}`
        : option.message,
    );
    this.name = 'InvalidAttachmentsOptionError';
  }
}

/**
 * Merges the defaults once and validates every option, so a typo fails at start-up. An option
 * given as `undefined` (`limits: { fileSize: undefined }`, often a missing environment value)
 * takes its default.
 */
export function resolveOptions(options: AttachmentsModuleOptions = {}): ResolvedAttachmentsOptions {
  if (!isObject(options)) throw notAnOptionsObject(options);
  refuseUnknownKeys(options, OPTION_KEYS, '');
  const givenLimits = options.limits === undefined ? {} : optionsObject('limits', options.limits, LIMIT_KEYS, LIMITS_EXPECTED);
  const limits = { ...DEFAULT_OPTIONS.limits, ...definedOnly(givenLimits) };
  if ('headerPairs' in limits) warnHeaderPairsIgnored();
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
    },
    allowedTypes: options.allowedTypes === undefined ? undefined : mediaTypes(options.allowedTypes),
    trustedOrigins: origins(options.trustedOrigins ?? []),
    uploadIdleTimeout: timerDuration('uploadIdleTimeout', options.uploadIdleTimeout ?? DEFAULT_OPTIONS.uploadIdleTimeout),
    uploadTimeout,
    expireAfter: duration('expireAfter', options.expireAfter ?? DEFAULT_OPTIONS.expireAfter, 1),
    // No upper bound: the schedule counts steps that Node's timers can hold (sweep-schedule.ts).
    sweepEvery: options.sweepEvery === false ? false : sweepInterval(options.sweepEvery ?? DEFAULT_OPTIONS.sweepEvery),
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

/**
 * The value of the module's options provider: forRoot's options (always an object, see
 * `AttachmentsModule.forRoot`), or what forRootAsync's factory returned. Nothing at all is then
 * a factory that forgot to return, refused rather than read as every default.
 */
export function resolveProvidedOptions(provided: unknown): ResolvedAttachmentsOptions {
  if (provided === undefined) throw notAnOptionsObject(provided);
  return resolveOptions(provided as AttachmentsModuleOptions);
}

/** forRoot's argument: Nest's builder lists its keys, which fails with a bare TypeError on null or a string. */
export function checkForRootOptions(options: unknown): void {
  if (!isObject(options)) throw notAnOptionsObject(options);
}

/**
 * forRootAsync's own object. Nest's builder keeps every key it does not know as an extra, so an
 * option given beside the factory (or a misspelt `useFactory`) would be dropped without a word.
 */
export function checkForRootAsyncOptions(options: unknown): void {
  if (!isObject(options)) throw noFactory(options);
  for (const key of Object.keys(options)) {
    if (Object.hasOwn(ASYNC_KEYS, key) || Object.hasOwn(DEFAULT_EXTRAS, key)) continue;
    if (Object.hasOwn(OPTION_KEYS, key)) {
      throw new InvalidAttachmentsOptionError({
        message:
          `AttachmentsModule option "${key}" was given to forRootAsync beside the factory, where only the extras ` +
          `(${Object.keys(DEFAULT_EXTRAS).join(', ')}) go: return it from the factory (useFactory, or create() of ` +
          `useClass/useExisting)`,
      });
    }
    const meant = closest(
      key,
      [...Object.keys(ASYNC_KEYS), ...Object.keys(DEFAULT_EXTRAS)].map((name) => [name, name]),
    );
    throw unknownOption(
      key,
      meant,
      `forRootAsync takes ${Object.keys(ASYNC_KEYS).join(', ')} and the extras ${Object.keys(DEFAULT_EXTRAS).join(', ')}`,
    );
  }
  const { useFactory, useClass, useExisting } = options as ConfigurableModuleAsyncOptions<AttachmentsModuleOptions>;
  if (useFactory === undefined && useClass === undefined && useExisting === undefined) throw noFactory(options);
}

/**
 * `limits.headerPairs` never limited anything: busboy's multipart parser ignores it (and hands
 * over no part's headers to count). Still accepted, so that a configuration setting it starts;
 * Node says so once per process.
 */
const warnHeaderPairsIgnored = deprecate(
  () => undefined,
  'AttachmentsModule option "limits.headerPairs" has no effect and is ignored: the multipart parser does not ' +
    "read it, and caps each part's header at 2,000 lines and 16 KiB itself. Remove it: the next version refuses it.",
  'ATTACHMENTS_HEADER_PAIRS',
);

/** The `resumable` extra: whether the tus routes are mounted. */
export function resolveResumable(value: unknown): boolean {
  return booleanExtra('resumable', value, DEFAULT_EXTRAS.resumable, 'whether the tus routes are mounted');
}

/** The `isGlobal` extra: whether every module of the app sees the module's exports. */
export function resolveIsGlobal(value: unknown): boolean {
  return booleanExtra('isGlobal', value, DEFAULT_EXTRAS.isGlobal, 'whether the module is registered globally');
}

function booleanExtra(option: string, value: unknown, fallback: boolean, meaning: string): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new InvalidAttachmentsOptionError(option, `true or false (${meaning})`, value);
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
  return arrayOf('guards', guards, 'guards (CanActivate classes or instances)', (guard, option) => {
    if (isGuard(guard)) return guard;
    throw new InvalidAttachmentsOptionError(option, 'a guard: a CanActivate class or an instance with canActivate()', guard);
  });
}

function isGuard(guard: unknown): guard is Type<CanActivate> | CanActivate {
  return (
    (typeof guard === 'function' &&
      typeof (guard as { prototype?: { canActivate?: unknown } }).prototype?.canActivate === 'function') ||
    (typeof guard === 'object' && guard !== null && typeof (guard as { canActivate?: unknown }).canActivate === 'function')
  );
}

const PREVIEWS_EXPECTED = "an object with the host's sharp: `import sharp from 'sharp'`, then `previews: { sharp }`";

function previews(value: unknown): ResolvedPreviews {
  const given: Partial<PreviewsOptions> = optionsObject('previews', value, PREVIEW_KEYS, PREVIEWS_EXPECTED);
  if (typeof given.sharp !== 'function') throw new InvalidAttachmentsOptionError('previews', PREVIEWS_EXPECTED, value);
  // Its versions name the previews it makes: without them an upgrade would keep serving old ones.
  if (!hasVersions(given.sharp)) throw new InvalidAttachmentsOptionError('previews.sharp', SHARP_EXPECTED, given.sharp);
  const defaults = DEFAULT_OPTIONS.previews;
  const timeout = timerDuration('previews.timeout', given.timeout ?? defaults.timeout);
  return {
    sharp: given.sharp,
    maxInputPixels: count('previews.maxInputPixels', given.maxInputPixels ?? defaults.maxInputPixels),
    timeoutSeconds: Math.ceil(timeout / 1000),
    concurrency: count('previews.concurrency', given.concurrency ?? defaults.concurrency),
  };
}

const SHARP_EXPECTED =
  "sharp itself (`import sharp from 'sharp'`), or a function that carries its `versions` (`{ sharp, vips, … }`)";

function hasVersions(sharp: PreviewSharp): boolean {
  const versions = (sharp as { versions?: unknown }).versions;
  if (typeof versions !== 'object' || versions === null) return false;
  const { sharp: own, vips } = versions as { sharp?: unknown; vips?: unknown };
  return typeof own === 'string' && typeof vips === 'string';
}

function inspectHook(value: unknown): InspectHook | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') {
    throw new InvalidAttachmentsOptionError('inspect', 'a function (file, signal) => Promise<void>', value);
  }
  return value as InspectHook;
}

export function resolvePath(path: unknown = DEFAULT_EXTRAS.path): string {
  const valid =
    typeof path === 'string' &&
    /^\/?[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*\/?$/.test(path) &&
    !path.split('/').some((segment) => segment === '.' || segment === '..');
  if (!valid) {
    throw new InvalidAttachmentsOptionError('path', 'a URL path such as "attachments" or "api/uploads"', path);
  }
  return path.replace(/^\/|\/$/g, '');
}

const MEDIA_TYPE = /^[a-z]+\/([a-z0-9.+-]+|\*)$/i;
const MEDIA_TYPE_EXPECTED = 'a media type such as "application/pdf" or "image/*"';

function mediaTypes(value: unknown): string[] {
  return arrayOf('allowedTypes', value, 'media types such as "application/pdf" or "image/*"', (type, option) => {
    if (typeof type !== 'string' || !MEDIA_TYPE.test(type))
      throw new InvalidAttachmentsOptionError(option, MEDIA_TYPE_EXPECTED, type);
    return type.toLowerCase();
  });
}

function origins(value: unknown): string[] {
  return arrayOf('trustedOrigins', value, 'origins such as "https://app.example.com"', (origin, option) => {
    if (typeof origin === 'string' && URL.canParse(origin) && new URL(origin).origin === origin) return origin;
    // The example is the origin of what was given, when it has one: the fix to copy.
    throw new InvalidAttachmentsOptionError(
      option,
      `an origin, scheme://host[:port] with no path or trailing slash, such as "${originOf(origin) ?? 'https://app.example.com'}"`,
      origin,
    );
  });
}

/** The origin of a URL given where an origin belongs (`https://app.example.com/`), if it has one. */
function originOf(value: unknown): string | undefined {
  if (typeof value !== 'string' || !URL.canParse(value)) return undefined;
  const { origin } = new URL(value);
  return origin === 'null' ? undefined : origin;
}

/** An array option, each element checked in turn, so that a refusal names the bad one: `trustedOrigins[1]`. */
function arrayOf<T>(option: string, value: unknown, expected: string, element: (item: unknown, name: string) => T): T[] {
  if (!Array.isArray(value)) throw new InvalidAttachmentsOptionError(option, `an array of ${expected}`, value);
  // Array.from visits holes too (as undefined), which map would skip.
  return Array.from(value as unknown[], (item, index) => element(item, `${option}[${index}]`));
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

/** `sweepEvery` besides `false`; the message says that `false` is the boolean (an environment gives "false"). */
function sweepInterval(value: unknown): number {
  const parsed = parseDuration(value);
  if (parsed === undefined || parsed < 100) {
    throw new InvalidAttachmentsOptionError(
      'sweepEvery',
      `false (the boolean: no sweep) or a duration >= 100 ms: ${DURATION_GRAMMAR}`,
      value,
    );
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
  if (typeof value === 'function') {
    const kind = /^class\b/.test(Function.prototype.toString.call(value)) ? 'class' : 'function';
    return `${kind} ${value.name || '(anonymous)'}`;
  }
  if (Array.isArray(value)) return `an array (${value.length} items)`;
  if (value === null || typeof value !== 'object') return String(value);
  if (isPlainObject(value)) return 'an object';
  return `an instance of ${(value as { constructor?: { name?: string } }).constructor?.name || 'a class'}`;
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An object literal (or one made with Object.create(null)), not an array, a Map or another class's instance. */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

// Option names. Each options object may hold only the keys its interface declares: a typo or an
// option put at the wrong level stops the app, naming the key and the option it resembles,
// instead of being ignored (the app would run on the default it meant to change).

/** An options object's keys, listed once; the compiler checks each list against its interface. */
type KeysOf<T> = Record<keyof T, true>;

const OPTION_KEYS: KeysOf<AttachmentsModuleOptions> = {
  storage: true,
  limits: true,
  allowedTypes: true,
  trustedOrigins: true,
  uploadIdleTimeout: true,
  uploadTimeout: true,
  expireAfter: true,
  sweepEvery: true,
  orphanGracePeriod: true,
  sweepBatchSize: true,
  owner: true,
  previews: true,
  inspect: true,
  inspectTimeout: true,
  inlineMaxSize: true,
  resumableExpireAfter: true,
};

const LIMIT_KEYS: KeysOf<AttachmentsLimits> = {
  fileSize: true,
  filesPerRequest: true,
  filesPerBundle: true,
  bytesPerSession: true,
  bundlesPerSession: true,
  fields: true,
  fieldSize: true,
  parts: true,
  headerPairs: true,
};

const PREVIEW_KEYS: KeysOf<PreviewsOptions> = { sharp: true, maxInputPixels: true, timeout: true, concurrency: true };

/** Nest's own keys of forRootAsync's object (its ASYNC_OPTIONS_METADATA_KEYS, which it does not export). */
const ASYNC_KEYS: KeysOf<ConfigurableModuleAsyncOptions<AttachmentsModuleOptions>> = {
  useFactory: true,
  useClass: true,
  useExisting: true,
  inject: true,
  imports: true,
  provideInjectionTokensFrom: true,
};

const LIMITS_EXPECTED = `an object such as { fileSize: '20MB' } (see the README's "Module options" for every limit)`;

/**
 * Every option as a key may spell it, with the path where it goes. Limits are also known by
 * the `max…` names other upload libraries give them (`maxFileSize`).
 */
const OPTION_SPELLINGS: ReadonlyArray<readonly [spelling: string, path: string]> = [
  ...[...Object.keys(OPTION_KEYS), ...Object.keys(DEFAULT_EXTRAS)].map((key) => [key, key] as const),
  ...Object.keys(LIMIT_KEYS).flatMap((key) => [
    [key, `limits.${key}`] as const,
    [`max${key[0]!.toUpperCase()}${key.slice(1)}`, `limits.${key}`] as const,
  ]),
  ...Object.keys(PREVIEW_KEYS).map((key) => [key, `previews.${key}`] as const),
];

/** A nested options object (`limits`, `previews`): a plain object with only the keys its interface declares. */
function optionsObject(option: string, value: unknown, keys: object, expected: string): Record<string, unknown> {
  if (!isPlainObject(value)) throw new InvalidAttachmentsOptionError(option, expected, value);
  refuseUnknownKeys(value, keys, `${option}.`);
  return value;
}

/** `prefix` is where `object` sits: '' for the options themselves, `limits.` for the limits. */
function refuseUnknownKeys(object: object, keys: object, prefix: string): void {
  for (const key of Object.keys(object)) {
    if (Object.hasOwn(keys, key)) continue;
    // forRoot takes the extras out of its options, so an extra here came from forRootAsync's factory.
    if (prefix === '' && Object.hasOwn(DEFAULT_EXTRAS, key)) throw extraInOptions(key);
    const here = OPTION_SPELLINGS.filter(([, path]) => levelOf(path) === prefix);
    const elsewhere = OPTION_SPELLINGS.filter(([, path]) => levelOf(path) !== prefix);
    const known = Object.keys(keys).join(', ');
    throw unknownOption(
      prefix + key,
      closest(key, [...here, ...elsewhere]),
      prefix === ''
        ? `the options are ${known} (and the extras ${Object.keys(DEFAULT_EXTRAS).join(', ')})`
        : `"${prefix.slice(0, -1)}" takes ${known}`,
    );
  }
}

/** `limits.` for `limits.fileSize`, '' for `expireAfter`. */
function levelOf(path: string): string {
  return path.slice(0, path.lastIndexOf('.') + 1);
}

function unknownOption(option: string, meant: string | undefined, known: string): InvalidAttachmentsOptionError {
  return new InvalidAttachmentsOptionError({
    message: `AttachmentsModule option "${option}" is unknown${meant === undefined ? `; ${known}` : `: did you mean "${meant}"?`}`,
  });
}

function extraInOptions(key: string): InvalidAttachmentsOptionError {
  return new InvalidAttachmentsOptionError({
    message:
      `AttachmentsModule option "${key}" is an extra: forRootAsync takes it beside useFactory/useClass/useExisting, ` +
      `as in forRootAsync({ ${key}, useFactory }), not in the options the factory returns (the module's routes ` +
      `and scope are fixed before the factory runs)`,
  });
}

function notAnOptionsObject(got: unknown): InvalidAttachmentsOptionError {
  return new InvalidAttachmentsOptionError({
    message:
      `AttachmentsModule options must be an object (forRoot's argument, or what forRootAsync's factory returns; ` +
      `{} for every default); got ${describe(got)}`,
  });
}

function noFactory(got: unknown): InvalidAttachmentsOptionError {
  return new InvalidAttachmentsOptionError({
    message: `AttachmentsModule.forRootAsync needs an object with useFactory, useClass or useExisting; got ${describe(got)}`,
  });
}
