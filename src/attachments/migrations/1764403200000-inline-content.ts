import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ClaimsAndSessionPutFunction1764230400000 } from './1764230400000-claims-and-session-put-function.js';

/**
 * Small files travel with their row: adds `content` (bytea on PostgreSQL, blob on SQLite,
 * null for a file kept in the AttachmentStorage), and on PostgreSQL recreates
 * `session_attachments_put` with the contents, so an inline file is stored with its row by the
 * same statement, in the same round trip and the same commit.
 *
 * The contents come as one bytea (the inline files one after another) and their lengths (-1
 * for a file in the storage), not as a bytea[]: the driver sends a bytea parameter as binary,
 * but an array only as text, every byte spelled as two hex digits and parsed back.
 *
 * `STORAGE EXTERNAL`: a file's bytes are mostly compressed already (images, PDFs, archives);
 * PostgreSQL would try to compress each in vain before moving it out of line.
 */
export class InlineContent1764403200000 implements MigrationInterface {
  name = 'InlineContent1764403200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const table = tablePath(queryRunner);
    if (queryRunner.connection.options.type !== 'postgres') {
      await queryRunner.query(`ALTER TABLE ${table} ADD COLUMN content blob NULL`);
      return;
    }
    await queryRunner.query(`ALTER TABLE ${table} ADD COLUMN content bytea NULL`);
    await queryRunner.query(`ALTER TABLE ${table} ALTER COLUMN content SET STORAGE EXTERNAL`);
    await queryRunner.query(`DROP FUNCTION IF EXISTS ${functionPath(queryRunner)}${PREVIOUS_ARGUMENTS}`);
    await queryRunner.query(`
      CREATE FUNCTION ${functionPath(queryRunner)}(
        _lock_namespace integer, _lock_key integer, _session_key varchar, _bundle varchar,
        _ids varchar[], _names varchar[], _mimetypes varchar[], _sizes bigint[], _hashes varchar[], _storage_keys varchar[],
        _contents bytea, _content_lengths integer[], _now bigint, _files_per_bundle bigint, _bytes_per_session bigint, _bundles_per_session bigint
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
                   (id, session_key, bundle, name, mimetype, size, sha256, storage_key, content, created_at, updated_at)
            SELECT f.id, _session_key, _bundle, f.name, f.mimetype, f.size, f.sha256, f.storage_key,
                   CASE WHEN f.content_length < 0 THEN NULL ELSE substring(_contents FROM (
                     SELECT coalesce(sum(greatest(p.l, 0)), 0) + 1
                       FROM unnest(_content_lengths) WITH ORDINALITY AS p(l, i) WHERE p.i < f.n
                   )::integer FOR f.content_length) END,
                   _now, _now
              FROM unnest(_ids, _names, _mimetypes, _sizes, _hashes, _storage_keys, _content_lengths)
                   WITH ORDINALITY AS f(id, name, mimetype, size, sha256, storage_key, content_length, n)
            -- A row that exists keeps its id and created time; its content and updated time
            -- change, and a take() that holds it no longer does.
            ON CONFLICT (session_key, bundle, name) DO UPDATE
               SET mimetype = excluded.mimetype, size = excluded.size, sha256 = excluded.sha256,
                   storage_key = excluded.storage_key, content = excluded.content, updated_at = excluded.updated_at,
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
      await queryRunner.query(`ALTER TABLE ${table} DROP COLUMN content`);
      // The previous migration's function again; its own columns stay (they exist).
      await new ClaimsAndSessionPutFunction1764230400000().createPutFunction(queryRunner);
      return;
    }
    await queryRunner.query(`ALTER TABLE ${table} DROP COLUMN content`);
  }
}

/** The put function's argument types: with its qualified name, how the module finds it. */
export const PUT_FUNCTION_ARGUMENTS =
  '(integer, integer, varchar, varchar, varchar[], varchar[], varchar[], bigint[], varchar[], varchar[], bytea, integer[], bigint, bigint, bigint, bigint)';

const PREVIOUS_ARGUMENTS =
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
