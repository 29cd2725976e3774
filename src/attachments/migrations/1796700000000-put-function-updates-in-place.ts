import type { MigrationInterface, QueryRunner } from 'typeorm';
import { PUT_FUNCTION_ARGUMENTS } from './1796240000000-put-function-reports-adoption.js';
import { putFunction as putFunctionRemovingPreviews } from './1796600000000-put-function-removes-previews.js';

/**
 * PostgreSQL only: the same `session_attachments_put` (arguments, result columns, refusals,
 * answers), in cheaper steps. Most of its time went to setting up its statements (one with
 * four sub-statements, a hash join and sub-plans per row) rather than to the rows. Now:
 * - one read of the session's rows gives the quotas, the rows the upload replaces (their ids
 *   and storage keys) and the adoption; the bundles are counted (count(DISTINCT ...)) only
 *   when the upload opens a new bundle, the one case that limit decides;
 * - a file that replaces a row updates that row by its id, a plain UPDATE, instead of an
 *   INSERT ... ON CONFLICT DO UPDATE, which first probes the unique index and locks the row (a
 *   WAL record of its own); a new file is inserted as before, one row at a time;
 * - the replaced files' previews are removed only when the upload replaces a file.
 * The session's lock is taken first, as before, and every writer of a session's rows takes
 * it, so the rows read are the rows written. The one writer that does not, the expiry sweep,
 * may delete a replaced row in between: its UPDATE then finds nothing and the file is inserted
 * (no replaced key: the sweep deletes those bytes). The arguments and the result are unchanged,
 * so a running module keeps calling it as it is (CREATE OR REPLACE: prepared calls stay valid).
 */
export class PutFunctionUpdatesInPlace1796700000000 implements MigrationInterface {
  name = 'PutFunctionUpdatesInPlace1796700000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type !== 'postgres') return;
    await queryRunner.query(putFunction(queryRunner));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type !== 'postgres') return;
    await queryRunner.query(`DROP FUNCTION IF EXISTS ${functionPath(queryRunner)}${PUT_FUNCTION_ARGUMENTS}`);
    await queryRunner.query(putFunctionRemovingPreviews(queryRunner));
  }
}

function putFunction(queryRunner: QueryRunner): string {
  const table = qualified(queryRunner, '"session_attachments"');
  const adoptions = qualified(queryRunner, '"session_attachment_adoptions"');
  const previews = qualified(queryRunner, '"session_attachment_previews"');
  const refusal = (code: string) =>
    `RETURN QUERY SELECT '${code}'::text, NULL::varchar, NULL::varchar, NULL::bigint, NULL::varchar, NULL::varchar, NULL::varchar[];`;
  const inBundle = `a.bundle = _bundle AND a.name = ANY (_names)`;
  return `
      CREATE OR REPLACE FUNCTION ${functionPath(queryRunner)}(
        _lock_namespace integer, _lock_key integer, _session_key varchar, _bundle varchar,
        _ids varchar[], _names varchar[], _mimetypes varchar[], _sizes bigint[], _hashes varchar[], _storage_keys varchar[],
        _contents bytea, _content_lengths integer[], _now bigint, _files_per_bundle bigint, _bytes_per_session bigint, _bundles_per_session bigint, _adopted_since bigint
      ) RETURNS TABLE (refused text, saved_name varchar, saved_id varchar, saved_created_at bigint, replaced_key varchar, adopted_into varchar, removed_previews varchar[])
      LANGUAGE plpgsql VOLATILE AS $$
      DECLARE
        in_bundle bigint; bundles bigint; bytes_held bigint; bytes_replaced bigint; adopter varchar;
        old_names varchar[]; old_ids varchar[]; old_keys varchar[]; removed varchar[] := '{}';
        files integer := cardinality(_names); incoming bigint := 0; next_byte integer := 1;
        i integer; k integer; piece bytea;
      BEGIN
        -- The session's lock, as every other write of this session takes it; statements below
        -- see what committed before it.
        PERFORM pg_advisory_xact_lock(_lock_namespace, _lock_key);
        SELECT count(*) FILTER (WHERE a.bundle = _bundle),
               coalesce(sum(a.size), 0),
               coalesce(sum(a.size) FILTER (WHERE ${inBundle}), 0),
               array_agg(a.name) FILTER (WHERE ${inBundle}),
               array_agg(a.id) FILTER (WHERE ${inBundle}),
               array_agg(a.storage_key) FILTER (WHERE ${inBundle}),
               (SELECT d.into_key FROM ${adoptions} d WHERE d.from_key = _session_key AND d.adopted_at >= _adopted_since)
          INTO in_bundle, bytes_held, bytes_replaced, old_names, old_ids, old_keys, adopter
          FROM ${table} a WHERE a.session_key = _session_key;
        IF in_bundle - coalesce(cardinality(old_names), 0) + files > _files_per_bundle THEN
          ${refusal('bundle_full')}
          RETURN;
        END IF;
        IF in_bundle = 0 THEN
          SELECT count(DISTINCT a.bundle) INTO bundles FROM ${table} a WHERE a.session_key = _session_key;
          IF bundles >= _bundles_per_session THEN
            ${refusal('too_many_bundles')}
            RETURN;
          END IF;
        END IF;
        FOR i IN 1 .. files LOOP
          incoming := incoming + _sizes[i];
        END LOOP;
        IF bytes_held - bytes_replaced + incoming > _bytes_per_session THEN
          ${refusal('session_quota_exceeded')}
          RETURN;
        END IF;
        -- The replaced files' previews: made from bytes that no row holds once this commits.
        IF old_keys IS NOT NULL THEN
          WITH dropped AS (DELETE FROM ${previews} v WHERE v.source_key = ANY (old_keys) RETURNING v.storage_key)
          SELECT coalesce(array_agg(d.storage_key), '{}'::varchar[]) INTO removed FROM dropped d;
        END IF;
        FOR i IN 1 .. files LOOP
          -- The inline files' bytes follow each other in _contents (a length below 0: none).
          piece := CASE WHEN _content_lengths[i] < 0 THEN NULL ELSE substring(_contents FROM next_byte FOR _content_lengths[i]) END;
          next_byte := next_byte + greatest(_content_lengths[i], 0);
          k := array_position(old_names, _names[i]);
          replaced_key := NULL;
          IF k IS NOT NULL THEN
            -- A row that exists keeps its id and created time; its content and updated time
            -- change, and a take() that holds it no longer does.
            UPDATE ${table} a
               SET mimetype = _mimetypes[i], size = _sizes[i], sha256 = _hashes[i], storage_key = _storage_keys[i],
                   content = piece, updated_at = _now, claim = NULL, claimed_at = NULL
             WHERE a.id = old_ids[k] AND a.session_key = _session_key AND a.bundle = _bundle AND a.name = _names[i]
            RETURNING a.id, a.created_at INTO saved_id, saved_created_at;
            IF FOUND THEN replaced_key := old_keys[k]; END IF;
          END IF;
          IF replaced_key IS NULL THEN
            INSERT INTO ${table} AS a
                   (id, session_key, bundle, name, mimetype, size, sha256, storage_key, content, created_at, updated_at)
            VALUES (_ids[i], _session_key, _bundle, _names[i], _mimetypes[i], _sizes[i], _hashes[i], _storage_keys[i], piece, _now, _now)
            ON CONFLICT (session_key, bundle, name) DO UPDATE
               SET mimetype = excluded.mimetype, size = excluded.size, sha256 = excluded.sha256,
                   storage_key = excluded.storage_key, content = excluded.content, updated_at = excluded.updated_at,
                   claim = NULL, claimed_at = NULL
            RETURNING a.id, a.created_at INTO saved_id, saved_created_at;
          END IF;
          refused := NULL;
          saved_name := _names[i];
          adopted_into := adopter;
          removed_previews := removed;
          RETURN NEXT;
        END LOOP;
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
