import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * The adoptions of anonymous owners by signed-in ones (`AttachmentsService.adopt`): an upload
 * to an owner that was adopted while it arrived commits under the old owner, then finds here
 * where to follow. One row per adopted owner; rows older than `orphanGracePeriod` are removed
 * by later adoptions (no upload outlasts that).
 */
export class OwnerAdoptions1764316800000 implements MigrationInterface {
  name = 'OwnerAdoptions1764316800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'session_attachment_adoptions',
        columns: [
          { name: 'from_key', type: 'varchar', length: '64', isPrimary: true },
          { name: 'into_key', type: 'varchar', length: '64' },
          { name: 'adopted_at', type: 'bigint' },
        ],
        indices: [{ name: 'session_attachment_adoptions_adopted_at', columnNames: ['adopted_at'] }],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('session_attachment_adoptions');
  }
}
