import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { AttachmentStorage, BulkDeletes, ByteRange, ByteSource, StoredObject } from './attachment-storage.js';
import { refuseUnknownOptions } from './known-options.js';
import { describeS3Failure, isMissingBucket, isMissingObject, isS3Unavailable } from './s3-errors.js';
import { StorageUnavailableError } from './storage-unavailable.js';

const KEY = /^[0-9a-f]{32}$/;
/** The least S3 accepts for every part but the last. */
const MIN_PART_SIZE = 5 * 1024 * 1024;
/** DeleteObjects takes at most this many keys per request. */
const DELETE_BATCH = 1000;

export interface S3StorageOptions {
  bucket: string;
  /**
   * Keys are `<prefix>/<32 hex>`. The orphan sweep deletes every object of that shape under
   * the prefix that no row references: give the module a bucket or a prefix of its own.
   */
  prefix?: string;
  /**
   * A client of your own (credentials, retries, a proxy...). When you pass one, `region`,
   * `endpoint`, `forcePathStyle` and `credentials` must not be set. Configure it with
   * `requestChecksumCalculation: 'WHEN_REQUIRED'` and `responseChecksumValidation:
   * 'WHEN_REQUIRED'` for S3-compatible servers that do not understand the SDK's default
   * aws-chunked checksums (s3rver stores the framing inside the object, and answers 200).
   */
  client?: S3Client;
  /** Default: the SDK's (`AWS_REGION`, the profile...). */
  region?: string;
  /** An S3-compatible server, e.g. `http://127.0.0.1:9000`. */
  endpoint?: string;
  /** `https://host/bucket/key` instead of `https://bucket.host/key`; most S3-compatible servers need it. */
  forcePathStyle?: boolean;
  /** Default: the SDK's provider chain (`AWS_ACCESS_KEY_ID`..., profiles, instance roles). */
  credentials?: S3ClientConfig['credentials'];
  /**
   * Bytes per part of a multipart upload (at least 5 MiB); a file smaller than one part is a
   * single PutObject. An upload holds at most `partSize × (queueSize + 1)` bytes in memory,
   * whatever the file size. Default 8 MiB.
   */
  partSize?: number;
  /** Parts uploaded at once per file. Default 4. */
  queueSize?: number;
}

/**
 * Objects in an S3 bucket (AWS or any S3-compatible server), under `<prefix>/<32 hex>`.
 *
 * Writes stream through lib-storage's `Upload`: one PutObject for a small file, a multipart
 * upload for a large one, which S3 makes visible only at CompleteMultipartUpload. A failed or
 * interrupted write aborts its multipart upload, so nothing is visible under any key; where
 * the server refuses the abort (or the process dies), the parts stay stored but invisible until
 * a bucket lifecycle rule `AbortIncompleteMultipartUpload` removes them.
 */
export class S3Storage implements AttachmentStorage, BulkDeletes {
  readonly bucket: string;
  private readonly client: S3Client;
  private readonly prefix: string;
  private readonly partSize: number;
  private readonly queueSize: number;
  private readonly logger = new Logger('S3Storage');

  constructor(options: S3StorageOptions) {
    const valid = validated(options);
    this.bucket = valid.bucket;
    this.prefix = valid.prefix;
    this.partSize = valid.partSize;
    this.queueSize = valid.queueSize;
    this.client =
      options.client ??
      new S3Client({
        ...(options.region !== undefined ? { region: options.region } : {}),
        ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
        ...(options.forcePathStyle !== undefined ? { forcePathStyle: options.forcePathStyle } : {}),
        ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
        // Checksums only where S3 demands them: with the default, a streamed body is sent in
        // aws-chunked framing with a trailing checksum, which servers that do not know it store
        // verbatim inside the object. The module computes its own sha256 of every file anyway.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      });
  }

  /**
   * Resolves when the bucket exists and these credentials may use it; otherwise rejects with a
   * message that names the bucket. For start-up checks: S3 would otherwise only tell at the
   * first upload.
   */
  async assertBucketExists(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (error) {
      const reason = isMissingBucket(error)
        ? 'does not exist: create it first'
        : `is not accessible with this endpoint, region and credentials (${describeS3Failure(error)})`;
      throw new Error(`S3Storage: bucket "${this.bucket}" ${reason}`, { cause: error });
    }
  }

  async write(source: ByteSource): Promise<{ key: string }> {
    const key = newKey();
    const body = source instanceof Readable ? source : Readable.from(source, { objectMode: false });
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: this.objectKey(key), Body: body },
      partSize: this.partSize,
      queueSize: this.queueSize,
      // We abort ourselves: lib-storage's own abort throws the abort's error in place of the
      // write's (the source's `file_too_large`, say) when the server refuses it.
      leavePartsOnError: true,
    });
    // A failure of the source (a limit, a client gone) is passed on as it is, never taken for S3's.
    let sourceFailed = false;
    body.once('error', () => (sourceFailed = true));
    try {
      await upload.done();
    } catch (error) {
      body.destroy();
      if (upload.uploadId) await this.abortMultipart(key, upload.uploadId);
      // `errored`: a source that failed before this write listened (a client gone already).
      throw sourceFailed || body.errored ? error : unavailable(error);
    }
    return { key };
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    const objectKey = this.objectKey(key);
    try {
      const response = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: objectKey,
          // Always absolute: suffix ranges (`bytes=-5`) are where S3-compatible servers differ.
          ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
        }),
      );
      return response.Body as Readable;
    } catch (error) {
      if (isMissingObject(error)) throw notFound(key);
      throw unavailable(error);
    }
  }

  async delete(key: string): Promise<void> {
    const command = new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) });
    await this.client.send(command).catch((error: unknown) => {
      throw unavailable(error);
    });
  }

  /**
   * Deletes many keys with one DeleteObjects request per 1000 (the sweep's batches). Unknown
   * keys count as deleted; resolves the keys that could not be deleted: those S3 answered with
   * an error, those of a request that failed, and keys that are not storage keys (never sent).
   */
  async deleteMany(keys: readonly string[]): Promise<string[]> {
    const failed: string[] = [];
    const byObjectKey = new Map<string, string>();
    for (const key of keys) {
      if (KEY.test(key)) byObjectKey.set(this.objectKey(key), key);
      else failed.push(key);
    }
    const objectKeys = [...byObjectKey.keys()];
    for (let start = 0; start < objectKeys.length; start += DELETE_BATCH) {
      const batch = objectKeys.slice(start, start + DELETE_BATCH);
      try {
        const response = await this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
        );
        for (const failure of response.Errors ?? []) failed.push(byObjectKey.get(failure.Key ?? '') ?? failure.Key ?? '');
      } catch (error) {
        this.logger.warn(`DeleteObjects failed for ${batch.length} object(s): ${String(error)}`);
        failed.push(...batch.map((objectKey) => byObjectKey.get(objectKey)!));
      }
    }
    return failed;
  }

  /** Every object of our key shape under the prefix. Incomplete multipart uploads are not objects. */
  async *list(): AsyncIterable<StoredObject> {
    let continuationToken: string | undefined;
    do {
      const command = new ListObjectsV2Command({
        Bucket: this.bucket,
        Prefix: this.prefix,
        MaxKeys: 1000,
        ...(continuationToken ? { ContinuationToken: continuationToken } : {}),
      });
      const page = await this.client.send(command).catch((error: unknown) => {
        throw unavailable(error);
      });
      for (const object of page.Contents ?? []) {
        const key = object.Key?.slice(this.prefix.length);
        if (key && KEY.test(key) && object.LastModified) yield { key, modifiedAt: object.LastModified };
      }
      continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (continuationToken);
  }

  /** The only place a key becomes an object key: anything but our own key shape is refused. */
  private objectKey(key: string): string {
    if (!KEY.test(key)) throw new Error(`S3Storage: "${key}" is not a storage key`);
    return this.prefix + key;
  }

  private async abortMultipart(key: string, uploadId: string): Promise<void> {
    try {
      await this.client.send(
        new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.objectKey(key), UploadId: uploadId }),
      );
    } catch (error) {
      this.logger.warn(
        `could not abort the incomplete multipart upload of "${this.objectKey(key)}" in bucket "${this.bucket}" ` +
          `(${describeS3Failure(error)}). Nothing is visible under that key, but its parts stay stored: ` +
          'on AWS S3 a bucket lifecycle rule AbortIncompleteMultipartUpload removes such leftovers.',
      );
    }
  }
}

/** Every option, so that a misspelt one (`endpiont`, `partsize`) is refused, not silently ignored. */
const OPTION_NAMES: Record<keyof S3StorageOptions, true> = {
  bucket: true,
  prefix: true,
  client: true,
  region: true,
  endpoint: true,
  forcePathStyle: true,
  credentials: true,
  partSize: true,
  queueSize: true,
};

function validated(options: S3StorageOptions) {
  // Unknown keys first: `{ Bucket }` (the SDK's spelling) is then named as `bucket`'s typo.
  if (typeof options === 'object' && options !== null) refuseUnknownOptions('S3Storage', options, Object.keys(OPTION_NAMES));
  if (typeof options?.bucket !== 'string' || options.bucket === '') {
    throw new Error('S3Storage: `bucket` must be the name of an existing bucket');
  }
  if (options.client !== undefined) {
    const clash = (['region', 'endpoint', 'forcePathStyle', 'credentials'] as const).filter(
      (name) => options[name] !== undefined,
    );
    if (clash.length > 0) {
      throw new Error(`S3Storage: with \`client\`, set ${clash.join(', ')} on that client instead`);
    }
  }
  const rawPrefix: unknown = options.prefix ?? '';
  if (typeof rawPrefix !== 'string' || rawPrefix.startsWith('/') || rawPrefix.split('/').includes('..')) {
    throw new Error(
      `S3Storage: \`prefix\` must be a relative key prefix such as "attachments"; got ${JSON.stringify(rawPrefix)}`,
    );
  }
  const partSize = options.partSize ?? 8 * 1024 * 1024;
  if (!Number.isInteger(partSize) || partSize < MIN_PART_SIZE) {
    throw new Error(`S3Storage: \`partSize\` must be a whole number of bytes, at least 5 MiB; got ${partSize}`);
  }
  const queueSize = options.queueSize ?? 4;
  if (!Number.isInteger(queueSize) || queueSize < 1) {
    throw new Error(`S3Storage: \`queueSize\` must be a whole number, at least 1; got ${queueSize}`);
  }
  const prefix = rawPrefix === '' || rawPrefix.endsWith('/') ? rawPrefix : `${rawPrefix}/`;
  return { bucket: options.bucket, prefix, partSize, queueSize };
}

/** 32 random hex digits, the same shape as DiskStorage's keys. */
function newKey(): string {
  return randomBytes(16).toString('hex');
}

/** What the service maps to 404, as for a file that is not on disk. */
function notFound(key: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`S3Storage: no object for key "${key}"`), { code: 'ENOENT' });
}

/** S3 out of reach or refusing becomes StorageUnavailableError (503 storage_unavailable); other errors stay as they are. */
function unavailable(error: unknown): unknown {
  return isS3Unavailable(error) ? new StorageUnavailableError(`S3Storage: ${describeS3Failure(error)}`, { cause: error }) : error;
}
