import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Resumable (tus) uploads: one row per upload, its offset advanced by compare-and-set so that
 * any instance may take the next PATCH, and one row per stored part (the parts strategy: each
 * PATCH's bytes as one object). `storage_key` is the object an in-place upload grows in (null
 * for parts). Both tables' storage keys count as referenced for the orphan sweep.
 */
export class ResumableUploads1796500000000 implements MigrationInterface {
  name = 'ResumableUploads1796500000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'session_attachment_uploads',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'session_key', type: 'varchar', length: '64' },
          { name: 'bundle', type: 'varchar', length: '64' },
          { name: 'name', type: 'varchar', length: '255' },
          // The client's Upload-Metadata header as sent, echoed on HEAD.
          { name: 'metadata', type: 'text', isNullable: true },
          { name: 'length', type: 'bigint' },
          { name: 'offset', type: 'bigint' },
          // Sniffed from the first bytes; null until enough of them have arrived.
          { name: 'mimetype', type: 'varchar', length: '255', isNullable: true },
          { name: 'storage_key', type: 'varchar', length: '64', isNullable: true },
          { name: 'finished_at', type: 'bigint', isNullable: true },
          { name: 'created_at', type: 'bigint' },
          { name: 'updated_at', type: 'bigint' },
        ],
        indices: [
          // Serves the owner's look-ups and the quotas' sums over the owner's uploads.
          { name: 'session_attachment_uploads_owner_bundle', columnNames: ['session_key', 'bundle'] },
          // Serves the expiry sweep's "updated before" scan.
          { name: 'session_attachment_uploads_updated_at', columnNames: ['updated_at'] },
          // Serves the orphan sweep's "is this blob referenced".
          { name: 'session_attachment_uploads_storage_key', columnNames: ['storage_key'], isUnique: true },
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'session_attachment_upload_parts',
        columns: [
          { name: 'upload_id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'offset', type: 'bigint', isPrimary: true },
          { name: 'length', type: 'bigint' },
          { name: 'storage_key', type: 'varchar', length: '64' },
        ],
        indices: [{ name: 'session_attachment_upload_parts_storage_key', columnNames: ['storage_key'], isUnique: true }],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('session_attachment_upload_parts');
    await queryRunner.dropTable('session_attachment_uploads');
  }
}
