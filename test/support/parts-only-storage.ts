import type { AttachmentStorage } from '../../src/attachments/index.js';

/**
 * The same storage with only the AttachmentStorage methods, hiding any optional capability
 * (ResumableWrites): tus uploads on it take the parts strategy, as on S3. For the tests that
 * prove the parts strategy on a disk, where PATCHes being written can be watched as files.
 */
export function partsOnly(storage: AttachmentStorage): AttachmentStorage {
  return {
    write: (source) => storage.write(source),
    read: (key, range) => storage.read(key, range),
    delete: (key) => storage.delete(key),
    list: () => storage.list(),
  };
}
