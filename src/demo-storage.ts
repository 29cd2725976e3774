import type { Provider } from '@nestjs/common';
import { DiskStorage, type AttachmentStorage } from './attachments/index.js';
import { S3Storage } from './attachments/s3.js';

/** Where the demo keeps bytes when `ATTACHMENTS_STORAGE=s3`. */
export interface DemoS3Config {
  bucket: string;
  region: string;
  endpoint: string | undefined;
  forcePathStyle: boolean | undefined;
  prefix: string | undefined;
}

/**
 * `ATTACHMENTS_STORAGE` (`disk`, the default, or `s3`) and the `S3_*` variables; undefined for
 * disk. Credentials are not read here: the AWS SDK finds them itself (AWS_ACCESS_KEY_ID...).
 */
export function s3ConfigFromEnv(env: NodeJS.ProcessEnv): DemoS3Config | undefined {
  const kind = env.ATTACHMENTS_STORAGE || 'disk';
  if (kind === 'disk') return undefined;
  if (kind !== 's3') throw new Error(`ATTACHMENTS_STORAGE must be "disk" or "s3"; got "${kind}"`);
  if (!env.S3_BUCKET) throw new Error('S3_BUCKET is required with ATTACHMENTS_STORAGE=s3: the name of an existing bucket');
  if (env.S3_ENDPOINT && !URL.canParse(env.S3_ENDPOINT)) {
    throw new Error(`S3_ENDPOINT must be a URL such as http://127.0.0.1:9000; got "${env.S3_ENDPOINT}"`);
  }
  const pathStyle = env.S3_FORCE_PATH_STYLE || undefined;
  if (pathStyle !== undefined && pathStyle !== 'true' && pathStyle !== 'false') {
    throw new Error(`S3_FORCE_PATH_STYLE must be "true" or "false"; got "${pathStyle}"`);
  }
  return {
    bucket: env.S3_BUCKET,
    region: env.S3_REGION || 'us-east-1',
    endpoint: env.S3_ENDPOINT || undefined,
    forcePathStyle: pathStyle === undefined ? undefined : pathStyle === 'true',
    prefix: env.S3_PREFIX || undefined,
  };
}

/** The storage the demo's settings name: S3 when configured, else the attachments folder. */
export function createDemoStorage(attachmentsDirectory: string, s3: DemoS3Config | undefined): AttachmentStorage {
  if (!s3) return new DiskStorage({ directory: attachmentsDirectory });
  return new S3Storage({
    bucket: s3.bucket,
    region: s3.region,
    ...(s3.endpoint ? { endpoint: s3.endpoint } : {}),
    ...(s3.forcePathStyle !== undefined ? { forcePathStyle: s3.forcePathStyle } : {}),
    ...(s3.prefix ? { prefix: s3.prefix } : {}),
  });
}

/**
 * A provider that fails start-up when the S3 bucket is missing or unreachable, with a message
 * naming S3_BUCKET: otherwise the first upload would be the first to find out.
 */
export function storageReadyCheck(storage: AttachmentStorage): Provider {
  return {
    provide: 'DEMO_STORAGE_READY',
    useFactory: async () => {
      if (!(storage instanceof S3Storage)) return true;
      // The message alone: it says what to fix, and the SDK's error object would bury it.
      await storage.assertBucketExists().catch((error: Error) => {
        throw new Error(`S3_BUCKET="${storage.bucket}": ${error.message.replace(/^S3Storage: /, '')}`);
      });
      return true;
    },
  };
}
