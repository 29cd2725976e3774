import type { MigrationInterface, QueryRunner } from 'typeorm';
import {
  PUT_FUNCTION_ARGUMENTS,
  putFunction as putFunctionReportingAdoption,
} from './1796240000000-put-function-reports-adoption.js';

/**
 * PostgreSQL only: `session_attachments_put` also removes the previews made from the files it
 * replaces, in the same statement, and answers their storage keys (`removed_previews`, the same
 * array on every row), so a replacing upload no longer deletes them in a statement of its own
 * after it commits: one round trip per upload, and a replaced file's previews go in the same
 * transaction as its row. The arguments are unchanged (so is how the module finds the
 * function); the module tells the versions apart by that column.
 */
export class PutFunctionRemovesPreviews1796600000000 implements MigrationInterface {
  name = 'PutFunctionRemovesPreviews1796600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type !== 'postgres') return;
    // A function's result columns cannot change in place.
    await queryRunner.query(`DROP FUNCTION IF EXISTS ${functionPath(queryRunner)}${PUT_FUNCTION_ARGUMENTS}`);
    await queryRunner.query(putFunction(queryRunner));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type !== 'postgres') return;
    await queryRunner.query(`DROP FUNCTION IF EXISTS ${functionPath(queryRunner)}${PUT_FUNCTION_ARGUMENTS}`);
    await queryRunner.query(putFunctionReportingAdoption(queryRunner, true));
  }
}

/** This migration's function (the next migration's `down` creates it again). */
export function putFunction(queryRunner: QueryRunner): string {
  const table = qualified(queryRunner, '"session_attachments"');
  const adoptions = qualified(queryRunner, '"session_attachment_adoptions"');
  const previews = qualified(queryRunner, '"session_attachment_previews"');
  const refusal = (code: string) =>
    `RETURN QUERY SELECT '${code}'::text, NULL::varchar, NULL::varchar, NULL::bigint, NULL::varchar, NULL::varchar, NULL::varchar[];`;
  return `
      CREATE FUNCTION ${functionPath(queryRunner)}(
        _lock_namespace integer, _lock_key integer, _session_key varchar, _bundle varchar,
        _ids varchar[], _names varchar[], _mimetypes varchar[], _sizes bigint[], _hashes varchar[], _storage_keys varchar[],
        _contents bytea, _content_lengths integer[], _now bigint, _files_per_bundle bigint, _bytes_per_session bigint, _bundles_per_session bigint, _adopted_since bigint
      ) RETURNS TABLE (refused text, saved_name varchar, saved_id varchar, saved_created_at bigint, replaced_key varchar, adopted_into varchar, removed_previews varchar[])
      LANGUAGE plpgsql VOLATILE AS $$
      DECLARE
        in_bundle bigint; bundles bigint; bytes_held bigint; files_replaced bigint; bytes_replaced bigint; adopter varchar;
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
          ${refusal('bundle_full')}
          RETURN;
        END IF;
        IF in_bundle = 0 AND bundles >= _bundles_per_session THEN
          ${refusal('too_many_bundles')}
          RETURN;
        END IF;
        IF bytes_held - bytes_replaced + (SELECT sum(s) FROM unnest(_sizes) s) > _bytes_per_session THEN
          ${refusal('session_quota_exceeded')}
          RETURN;
        END IF;
        SELECT d.into_key INTO adopter FROM ${adoptions} d
         WHERE d.from_key = _session_key AND d.adopted_at >= _adopted_since;
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
          ), dropped AS (
            -- The replaced files' previews: made from bytes that no row holds once this commits.
            DELETE FROM ${previews} v WHERE v.source_key IN (SELECT p.storage_key FROM previous p)
            RETURNING v.storage_key
          )
          SELECT NULL::text, w.name, w.id, w.created_at, p.storage_key, adopter,
                 coalesce((SELECT array_agg(d.storage_key) FROM dropped d), '{}'::varchar[])
            FROM written w LEFT JOIN previous p ON p.name = w.name;
      END
      $$`;
}

function qualified(queryRunner: QueryRunner, name: string): string {
  const { options } = queryRunner.connection;
  const schema = options.type === 'postgres' ? options.schema : undefined;
  return schema === undefined ? name : `"${schema}".${name}`;
}

function functionPath(queryRunner: QueryRunner): string {
  return qualified(queryRunner, 'session_attachments_put');
}
