import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';

/** Creates the attachments table on PostgreSQL and SQLite alike (TypeORM's Table API). */
export class CreateSessionAttachments1764057600000 implements MigrationInterface {
  name = 'CreateSessionAttachments1764057600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'session_attachments',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'session_key', type: 'varchar', length: '64' },
          { name: 'bundle', type: 'varchar', length: '64' },
          { name: 'name', type: 'varchar', length: '255' },
          { name: 'mimetype', type: 'varchar', length: '255' },
          { name: 'size', type: 'bigint' },
          { name: 'sha256', type: 'varchar', length: '64' },
          { name: 'storage_key', type: 'varchar', length: '64' },
          { name: 'created_at', type: 'bigint' },
          { name: 'updated_at', type: 'bigint' },
        ],
        indices: [
          // Serves every per-visitor query (list, find, clear) and makes the upsert atomic.
          { name: 'session_attachments_owner_bundle_name', columnNames: ['session_key', 'bundle', 'name'], isUnique: true },
          // Serves the orphan sweep's "is this blob referenced" look-up; one blob, one row.
          { name: 'session_attachments_storage_key', columnNames: ['storage_key'], isUnique: true },
          // Serves the expiry sweep's "updated before" scan.
          { name: 'session_attachments_updated_at', columnNames: ['updated_at'] },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('session_attachments');
  }
}
