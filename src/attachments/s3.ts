// The `nestjs-session-attachments/s3` entry: S3 storage, apart from the main entry so that apps
// which store on disk need not install the AWS SDK (an optional peer dependency).
export { S3Storage, type S3StorageOptions } from './storage/s3-storage.js';
