import type { MigrationInterface, QueryRunner } from 'typeorm';
import { SessionAttachmentsPutFunction1764144000000 } from './1764144000000-session-attachments-put-function.js';

/**
 * Adds the `take()` claim (`claim`, `claimed_at`, both nullable) on every database, and on
 * PostgreSQL recreates `session_attachments_put` next to the table, with every name in it
 * qualified by the DataSource's schema.
 *
 * The first migration's `createTable` puts the table in the DataSource's `schema` (TypeORM
 * qualifies the name with it), but the second created the function unqualified, that is in
 * the first schema of `search_path`, with a body that looks the table up by `search_path`
 * too: with `schema: 'app'` every upload failed. The function made here lives in the table's
 * schema and names the table fully, and an upload that replaces a file drops the file's claim
 * (the new content was never handed over). Its signature is unchanged; the caller passes the
 * session's lock keys (the quotas count the whole session).
 */
export class ClaimsAndSessionPutFunction1764230400000 implements MigrationInterface {
  name = 'ClaimsAndSessionPutFunction1764230400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const table = tablePath(queryRunner);
    await queryRunner.query(`ALTER TABLE ${table} ADD COLUMN claim varchar(36) NULL`);
    await queryRunner.query(`ALTER TABLE ${table} ADD COLUMN claimed_at bigint NULL`);
    if (queryRunner.connection.options.type !== 'postgres') return;
    await this.createPutFunction(queryRunner);
  }

  /** The function alone (PostgreSQL), also for a later migration's `down`. */
  async createPutFunction(queryRunner: QueryRunner): Promise<void> {
    const table = tablePath(queryRunner);
    await queryRunner.query(`
      CREATE OR REPLACE FUNCTION ${functionPath(queryRunner)}(
        _lock_namespace integer, _lock_key integer, _session_key varchar, _bundle varchar,
        _ids varchar[], _names varchar[], _mimetypes varchar[], _sizes bigint[], _hashes varchar[], _storage_keys varchar[],
        _now bigint, _files_per_bundle bigint, _bytes_per_session bigint, _bundles_per_session bigint
      ) RETURNS TABLE (refused text, saved_name varchar, saved_id varchar, saved_created_at bigint, replaced_key varchar)
      LANGUAGE plpgsql VOLATILE AS $$
      DECLARE
        in_bundle bigint; bundles bigint; bytes_held bigint; files_replaced bigint; bytes_replaced bigint;
      BEGIN
        -- The session's lock, as every other write of this session takes it; statements below
        -- see what committed before it.
        PERFORM pg_advisory_xact_lock(_lock_namespace, _lock_key);
        SELECT count(*) FILTER (WHERE a.bundle = _bundle),
               count(DISTINCT a.bundle),
               coalesce(sum(a.size), 0),
               count(*) FILTER (WHERE a.bundle = _bundle AND a.name = ANY (_names)),
               coalesce(sum(a.size) FILTER (WHERE a.bundle = _bundle AND a.name = ANY (_names)), 0)
          INTO in_bundle, bundles, bytes_held, files_replaced, bytes_replaced
          FROM ${table} a WHERE a.session_key = _session_key;
        IF in_bundle - files_replaced + cardinality(_names) > _files_per_bundle THEN
          RETURN QUERY SELECT 'bundle_full'::text, NULL::varchar, NULL::varchar, NULL::bigint, NULL::varchar;
          RETURN;
        END IF;
        IF in_bundle = 0 AND bundles >= _bundles_per_session THEN
          RETURN QUERY SELECT 'too_many_bundles'::text, NULL::varchar, NULL::varchar, NULL::bigint, NULL::varchar;
          RETURN;
        END IF;
        IF bytes_held - bytes_replaced + (SELECT sum(s) FROM unnest(_sizes) s) > _bytes_per_session THEN
          RETURN QUERY SELECT 'session_quota_exceeded'::text, NULL::varchar, NULL::varchar, NULL::bigint, NULL::varchar;
          RETURN;
        END IF;
        RETURN QUERY
          WITH previous AS (
            SELECT a.name, a.storage_key FROM ${table} a
             WHERE a.session_key = _session_key AND a.bundle = _bundle AND a.name = ANY (_names)
          ), written AS (
            INSERT INTO ${table} AS a
                   (id, session_key, bundle, name, mimetype, size, sha256, storage_key, created_at, updated_at)
            SELECT f.id, _session_key, _bundle, f.name, f.mimetype, f.size, f.sha256, f.storage_key, _now, _now
              FROM unnest(_ids, _names, _mimetypes, _sizes, _hashes, _storage_keys)
                   AS f(id, name, mimetype, size, sha256, storage_key)
            -- A row that exists keeps its id and created time; its content and updated time
            -- change, and a take() that holds it no longer does.
            ON CONFLICT (session_key, bundle, name) DO UPDATE
               SET mimetype = excluded.mimetype, size = excluded.size, sha256 = excluded.sha256,
                   storage_key = excluded.storage_key, updated_at = excluded.updated_at,
                   claim = NULL, claimed_at = NULL
            RETURNING a.name, a.id, a.created_at
          )
          SELECT NULL::text, w.name, w.id, w.created_at, p.storage_key
            FROM written w LEFT JOIN previous p ON p.name = w.name;
      END
      $$`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const table = tablePath(queryRunner);
    if (queryRunner.connection.options.type === 'postgres') {
      await queryRunner.query(`DROP FUNCTION IF EXISTS ${functionPath(queryRunner)}${PUT_FUNCTION_ARGUMENTS}`);
      await new SessionAttachmentsPutFunction1764144000000().up(queryRunner);
    }
    await queryRunner.query(`ALTER TABLE ${table} DROP COLUMN claimed_at`);
    await queryRunner.query(`ALTER TABLE ${table} DROP COLUMN claim`);
  }
}

/** The put function's argument types: with its qualified name, how the module finds it. */
export const PUT_FUNCTION_ARGUMENTS =
  '(integer, integer, varchar, varchar, varchar[], varchar[], varchar[], bigint[], varchar[], varchar[], bigint, bigint, bigint, bigint)';

/** The table where the first migration's createTable put it: in the DataSource's schema, if any. */
function tablePath(queryRunner: QueryRunner): string {
  const schema = schemaOf(queryRunner);
  return schema === undefined ? '"session_attachments"' : `"${schema}"."session_attachments"`;
}

function functionPath(queryRunner: QueryRunner): string {
  const schema = schemaOf(queryRunner);
  return schema === undefined ? 'session_attachments_put' : `"${schema}".session_attachments_put`;
}

function schemaOf(queryRunner: QueryRunner): string | undefined {
  const { options } = queryRunner.connection;
  return options.type === 'postgres' ? options.schema : undefined;
}
