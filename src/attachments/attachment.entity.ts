import { Column, Entity, Index, PrimaryColumn, type ValueTransformer } from 'typeorm';

/** PostgreSQL returns BIGINT as a string (it may exceed 2^53); ours never do. */
const bigintAsNumber: ValueTransformer = {
  to: (value: number | undefined) => value,
  from: (value: string | number | null) => (value === null ? value : Number(value)),
};

/**
 * One stored attachment. Times are epoch milliseconds (UTC) in BIGINT columns: the same value
 * and the same comparisons on every database, with no time-zone conversion to get wrong.
 * The session key is the module's own random key, never the express session id.
 */
@Entity({ name: 'session_attachments' })
@Index('session_attachments_owner_bundle_name', ['sessionKey', 'bundle', 'name'], { unique: true })
@Index('session_attachments_storage_key', ['storageKey'], { unique: true })
@Index('session_attachments_updated_at', ['updatedAt'])
export class AttachmentEntity {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'session_key', type: 'varchar', length: 64 })
  sessionKey!: string;

  @Column({ type: 'varchar', length: 64 })
  bundle!: string;

  @Column({ type: 'varchar', length: 255 })
  name!: string;

  @Column({ type: 'varchar', length: 255 })
  mimetype!: string;

  @Column({ type: 'bigint', transformer: bigintAsNumber })
  size!: number;

  @Column({ type: 'varchar', length: 64 })
  sha256!: string;

  @Column({ name: 'storage_key', type: 'varchar', length: 64 })
  storageKey!: string;

  @Column({ name: 'created_at', type: 'bigint', transformer: bigintAsNumber })
  createdAt!: number;

  @Column({ name: 'updated_at', type: 'bigint', transformer: bigintAsNumber })
  updatedAt!: number;

  /**
   * The `take()` that is handing this file over, so that a concurrent one does not hand it
   * too; null when no take holds it. A new upload of the same name drops the claim.
   */
  @Column({ type: 'varchar', length: 36, nullable: true })
  claim!: string | null;

  /** When `claim` was set (epoch ms): a claim left by a process that died goes stale. */
  @Column({ name: 'claimed_at', type: 'bigint', nullable: true, transformer: bigintAsNumber })
  claimedAt!: number | null;
}
