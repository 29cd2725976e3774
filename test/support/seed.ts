import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { AttachmentEntity } from '../../src/attachments/index.js';
import type { RunningApp } from './test-app.js';

/**
 * Writes `count` attachments straight into the database and the disk storage's layout, last
 * written `age` ms ago: the state a busy site reaches, without a million HTTP requests.
 */
export async function seedAttachments(running: RunningApp, count: number, age: number): Promise<void> {
  const dataSource = running.app.get(DataSource);
  const updatedAt = Date.now() - age;
  const folders = new Set<string>();
  for (let start = 0; start < count; start += 1000) {
    const rows = Array.from({ length: Math.min(1000, count - start) }, (_, index) => ({
      id: randomUUID(),
      sessionKey: `seed-${(start + index) % 997}`,
      bundle: `bundle-${(start + index) % 13}`,
      name: `file-${start + index}.txt`,
      mimetype: 'text/plain',
      size: 1,
      sha256: '0'.repeat(64),
      storageKey: randomBytes(16).toString('hex'),
      createdAt: updatedAt,
      updatedAt,
    }));
    await dataSource.createQueryBuilder().insert().into(AttachmentEntity).values(rows).execute();
    await Promise.all(
      rows.map(async (row) => {
        const folder = join(running.attachmentsDirectory, 'blobs', row.storageKey.slice(0, 2));
        if (!folders.has(folder)) {
          await mkdir(folder, { recursive: true });
          folders.add(folder);
        }
        await writeFile(join(folder, row.storageKey), 'x');
      }),
    );
  }
}
