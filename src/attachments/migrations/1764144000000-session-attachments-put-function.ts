import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * PostgreSQL only: `session_attachments_put(...)`, the whole write of an upload in one round
 * trip. It takes the bundle's advisory lock, checks the quotas, upserts the rows and returns
 * them with the storage keys they replaced, all in the call's own transaction. Done in
 * separate statements the same work costs seven round trips, and on a small upload those
 * dominate the server's time. Without this function (SQLite, or a schema made by
 * `synchronize`) the module runs the same steps as a transaction from TypeScript.
 *
 * The quota rules are the same as `checkQuotas` in attachment-records.ts; the shared tests
 * run both.
 */
export class SessionAttachmentsPutFunction1764144000000 implements MigrationInterface {
  name = 'SessionAttachmentsPutFunction1764144000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type !== 'postgres') return;
    await queryRunner.query(`
      CREATE OR REPLACE FUNCTION session_attachments_put(
        _lock_namespace integer, _lock_key integer, _session_key varchar, _bundle varchar,
        _ids varchar[], _names varchar[], _mimetypes varchar[], _sizes bigint[], _hashes varchar[], _storage_keys varchar[],
        _now bigint, _files_per_bundle bigint, _bytes_per_session bigint, _bundles_per_session bigint
      ) RETURNS TABLE (refused text, saved_name varchar, saved_id varchar, saved_created_at bigint, replaced_key varchar)
      LANGUAGE plpgsql VOLATILE AS $$
      DECLARE
        in_bundle bigint; bundles bigint; bytes_held bigint; files_replaced bigint; bytes_replaced bigint;
      BEGIN
        -- The same lock as every other write to this bundle; statements below see what committed before it.
        PERFORM pg_advisory_xact_lock(_lock_namespace, _lock_key);
        SELECT count(*) FILTER (WHERE a.bundle = _bundle),
               count(DISTINCT a.bundle),
               coalesce(sum(a.size), 0),
               count(*) FILTER (WHERE a.bundle = _bundle AND a.name = ANY (_names)),
               coalesce(sum(a.size) FILTER (WHERE a.bundle = _bundle AND a.name = ANY (_names)), 0)
          INTO in_bundle, bundles, bytes_held, files_replaced, bytes_replaced
          FROM session_attachments a WHERE a.session_key = _session_key;
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
            SELECT a.name, a.storage_key FROM session_attachments a
             WHERE a.session_key = _session_key AND a.bundle = _bundle AND a.name = ANY (_names)
          ), written AS (
            INSERT INTO session_attachments AS a
                   (id, session_key, bundle, name, mimetype, size, sha256, storage_key, created_at, updated_at)
            SELECT f.id, _session_key, _bundle, f.name, f.mimetype, f.size, f.sha256, f.storage_key, _now, _now
              FROM unnest(_ids, _names, _mimetypes, _sizes, _hashes, _storage_keys)
                   AS f(id, name, mimetype, size, sha256, storage_key)
            -- A row that exists keeps its id and created time; its content and updated time change.
            ON CONFLICT (session_key, bundle, name) DO UPDATE
               SET mimetype = excluded.mimetype, size = excluded.size, sha256 = excluded.sha256,
                   storage_key = excluded.storage_key, updated_at = excluded.updated_at
            RETURNING a.name, a.id, a.created_at
          )
          SELECT NULL::text, w.name, w.id, w.created_at, p.storage_key
            FROM written w LEFT JOIN previous p ON p.name = w.name;
      END
      $$`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type !== 'postgres') return;
    await queryRunner.query(`DROP FUNCTION IF EXISTS ${PUT_FUNCTION_SIGNATURE}`);
  }
}

/** The function's full signature: how the module checks that it is installed. */
export const PUT_FUNCTION_SIGNATURE =
  'session_attachments_put(integer, integer, varchar, varchar, varchar[], varchar[], varchar[], bigint[], varchar[], varchar[], bigint, bigint, bigint, bigint)';
