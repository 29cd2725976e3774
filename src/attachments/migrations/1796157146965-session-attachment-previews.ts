import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * The stored previews: one per (content sha256, size), whichever attachment of that content it
 * was made from (`source_key`, that attachment's storage key). Removing or replacing the
 * source removes its previews; the orphan sweep counts `storage_key` as referenced.
 */
export class SessionAttachmentPreviews1796157146965 implements MigrationInterface {
  name = 'SessionAttachmentPreviews1796157146965';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'session_attachment_previews',
        columns: [
          { name: 'sha256', type: 'varchar', length: '64', isPrimary: true },
          { name: 'size', type: 'integer', isPrimary: true },
          { name: 'source_key', type: 'varchar', length: '64' },
          { name: 'storage_key', type: 'varchar', length: '64' },
          { name: 'created_at', type: 'bigint' },
        ],
        indices: [
          // Serves "remove the previews of these removed attachments".
          { name: 'session_attachment_previews_source_key', columnNames: ['source_key'] },
          // Serves the orphan sweep's "is this blob referenced"; one blob, one preview.
          { name: 'session_attachment_previews_storage_key', columnNames: ['storage_key'], isUnique: true },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('session_attachment_previews');
  }
}
