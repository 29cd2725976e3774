// Three demo instances (`node dist/src/main.js`) on one PostgreSQL, one s3rver bucket and the
// PostgreSQL session store, behind HAProxy running the README's configuration (round-robin, no
// stickiness, bodies streamed). One visitor with one cookie jar, whichever instance answers.
import { PutObjectCommand } from '@aws-sdk/client-s3';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest, type ClientRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { SWEEP_LOCK_NAMESPACE } from '../../src/attachments/persistence/sql-dialect.js';
import { debianBinary } from '../support/debian-binary.js';
import { Visitor, type AttachmentBody } from '../support/visitor.js';
import { waitFor } from '../support/wait-for.js';
import { S3_PREFIX, startCluster, type Cluster, type Instance } from './cluster.js';

const haproxy = debianBinary('haproxy');
const MiB = 1024 * 1024;
const DAY = 24 * 3600_000;

const sha256 = (content: string | Buffer) => createHash('sha256').update(content).digest('hex');

/** The instance names HAProxy put in X-Served-By, one per response seen. */
const servedBy: string[] = [];
function track(response: Response): Response {
  const name = response.headers.get('x-served-by');
  if (name) servedBy.push(name);
  return response;
}

const BOUNDARY = 'cluster-boundary-41f2';
const multipartHead = (name: string) =>
  `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`;
const multipartTail = `\r\n--${BOUNDARY}--\r\n`;

interface Answer {
  status: number;
  body: string;
  servedBy: string | undefined;
}

/**
 * One multipart upload whose body the test writes piece by piece (`Content-Length` declared up
 * front), so that it can hold an upload half-way: to start two at the same moment, or to kill
 * the instance that is receiving one.
 */
function streamingUpload(url: string, cookie: string, name: string, size: number) {
  const head = multipartHead(name);
  const request: ClientRequest = httpRequest(url, {
    method: 'POST',
    headers: {
      cookie,
      'content-type': `multipart/form-data; boundary=${BOUNDARY}`,
      'content-length': String(Buffer.byteLength(head) + size + Buffer.byteLength(multipartTail)),
    },
  });
  const answer = new Promise<Answer | Error>((resolve) => {
    request.once('error', resolve);
    request.once('response', (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.once('error', resolve);
      response.once('end', () =>
        resolve({ status: response.statusCode ?? 0, body, servedBy: response.headers['x-served-by'] as string | undefined }),
      );
    });
  });
  const write = (chunk: Buffer | string) =>
    new Promise<void>((done, fail) => request.write(chunk, (error) => (error ? fail(error) : done())));
  request.flushHeaders();
  return {
    answer,
    start: () => write(head),
    write,
    end: () => new Promise<void>((done) => request.end(multipartTail, () => done())),
    destroy: () => request.destroy(),
  };
}

/** Sweep log lines of one instance: what each round did. */
function sweepLines(instance: Instance): string[] {
  return instance.lines.filter((line) => /Sweep (removed|skipped|failed)/.test(line));
}

/** What the "Sweep removed" lines of some instances add up to. */
function removedTotals(lines: string[]): { attachments: number; orphans: number } {
  let attachments = 0;
  let orphans = 0;
  for (const line of lines) {
    const match = /Sweep removed (\d+) attachment\(s\), .* and (\d+) orphan blob\(s\)/.exec(line);
    if (!match) continue;
    attachments += Number(match[1]);
    orphans += Number(match[2]);
  }
  return { attachments, orphans };
}

/** Waits until each instance has logged `rounds` more sweep rounds than `marks` says it had. */
async function moreRounds(instances: Instance[], marks: number[], rounds: number): Promise<void> {
  const done = await waitFor(
    () => instances.every((instance, index) => sweepLines(instance).length >= marks[index]! + rounds),
    120_000,
  );
  assert.ok(done, `every instance logs ${rounds} more sweep round(s)`);
}

describe(
  'three instances behind HAProxy (the README configuration)',
  { skip: 'missing' in haproxy ? haproxy.missing : false },
  () => {
    let cluster: Cluster;
    /** A connection of the test's own, holding the sweep lock until the sweep test lets go. */
    let lockHolder: pg.Client;
    let visitor: Visitor;
    /** What the visitor has been told is stored: name → sha256, in bundle "kept". */
    const acknowledged = new Map<string, string>();

    before(async () => {
      if (!('path' in haproxy)) return;
      cluster = await startCluster(
        haproxy.path,
        { SESSION_SECRET: 'one-secret-for-the-cluster', ATTACHMENTS_SWEEP_EVERY: '1s' },
        async (database) => {
          lockHolder = new pg.Client({ connectionString: database.env.DATABASE_URL });
          await lockHolder.connect();
          await lockHolder.query('SELECT pg_advisory_lock($1, 0)', [SWEEP_LOCK_NAMESPACE]);
        },
      );
      visitor = new Visitor(cluster.balancer.baseUrl);
    });
    after(async () => {
      await lockHolder?.end();
      await cluster?.stop();
    });

    test('upload, list, download, replace and delete work for one visitor whichever instance answers', async () => {
      servedBy.length = 0;
      assert.equal(
        track(
          await visitor.upload('/attachments/kept', [
            ['file', 'a.txt', 'alpha'],
            ['file', 'b.txt', 'beta'],
          ]),
        ).status,
        201,
      );
      for (let round = 0; round < 3; round += 1) {
        const list = track(await visitor.get('/attachments/kept'));
        assert.deepEqual(
          ((await list.json()) as AttachmentBody[]).map((attachment) => attachment.name),
          ['a.txt', 'b.txt'],
        );
        const download = track(await visitor.get('/attachments/kept/a.txt'));
        assert.equal(await download.text(), 'alpha');
      }
      assert.equal(track(await visitor.upload('/attachments/kept', [['file', 'a.txt', 'alpha, replaced']])).status, 201);
      for (let round = 0; round < 3; round += 1)
        assert.equal(await track(await visitor.get('/attachments/kept/a.txt')).text(), 'alpha, replaced');
      assert.equal(track(await visitor.delete('/attachments/kept/b.txt')).status, 204);
      for (let round = 0; round < 3; round += 1) {
        assert.equal(track(await visitor.get('/attachments/kept/b.txt')).status, 404);
        const list = track(await visitor.get('/attachments/kept'));
        assert.deepEqual(
          ((await list.json()) as AttachmentBody[]).map((attachment) => attachment.name),
          ['a.txt'],
        );
      }
      acknowledged.set('a.txt', sha256('alpha, replaced'));
      assert.ok(new Set(servedBy).size >= 2, `answered by at least two instances: ${[...new Set(servedBy)].join(', ')}`);
      assert.ok(servedBy.every((name) => /^app[123]$/.test(name)));
      // The replaced and the deleted bytes are gone from the bucket: one object per stored row,
      // and a.txt, small enough to live in its row (inlineMaxSize), has none.
      assert.ok(await waitFor(async () => (await cluster.objectKeys()).join() === (await cluster.rowKeys()).join()));
      assert.deepEqual(await cluster.objectKeys(), []);
    });

    test('two uploads of one name at the same moment through two instances leave one row and one object', async () => {
      const [first, second] = cluster.instances;
      const contents = [randomBytes(2 * MiB), randomBytes(2 * MiB)];
      const uploads = [first!, second!].map((instance) =>
        streamingUpload(`${instance.baseUrl}/attachments/kept`, visitor.cookie!, 'same.bin', 2 * MiB),
      );
      // Both bodies half-sent before either ends: the two are in flight on two instances at once.
      await Promise.all(uploads.map((upload) => upload.start()));
      await Promise.all(uploads.map((upload, index) => upload.write(contents[index]!.subarray(0, MiB))));
      await Promise.all(uploads.map((upload, index) => upload.write(contents[index]!.subarray(MiB)).then(() => upload.end())));
      const answers = await Promise.all(uploads.map((upload) => upload.answer));
      assert.deepEqual(
        answers.map((answer) => (answer instanceof Error ? answer.message : answer.status)),
        [201, 201],
      );
      const rows = await cluster.sql<{ sha256: string }>(
        `SELECT sha256 FROM session_attachments WHERE bundle = 'kept' AND name = 'same.bin'`,
      );
      assert.equal(rows.length, 1);
      assert.ok(await waitFor(async () => (await cluster.objectKeys()).join() === (await cluster.rowKeys()).join()));
      assert.equal((await cluster.objectKeys()).length, 1, 'one same.bin (a.txt lives in its row)');
      // The row and its object are one of the two uploads, whole.
      const winner = contents.find((content) => sha256(content) === rows[0]!.sha256);
      assert.ok(winner, 'the row is one of the two uploads');
      const download = Buffer.from(await (await visitor.get('/attachments/kept/same.bin')).arrayBuffer());
      assert.equal(sha256(download), rows[0]!.sha256);
      acknowledged.set('same.bin', rows[0]!.sha256);
    });

    test('the scheduled sweep: while one process holds the lock no instance sweeps; then an expired row and an orphan go exactly once', async () => {
      // Expired rows (uploaded, then aged in the database) and an orphan object older than the
      // grace period (2 hours by default; aged on s3rver's disk) — planted while the test holds
      // the sweep lock, which it took before the instances started.
      const other = new Visitor(cluster.balancer.baseUrl);
      assert.equal(
        (
          await other.upload('/attachments/old', [
            ['file', 'x.txt', 'x'],
            ['file', 'y.txt', 'y'],
          ])
        ).status,
        201,
      );
      await cluster.sql(
        `UPDATE session_attachments SET created_at = created_at - $1, updated_at = updated_at - $1 WHERE bundle = 'old'`,
        [2 * DAY],
      );
      const orphan = `${S3_PREFIX}/${randomBytes(16).toString('hex')}`;
      await cluster.s3.client.send(new PutObjectCommand({ Bucket: cluster.bucket, Key: orphan, Body: 'left by a crash' }));
      await cluster.s3.ageObject(cluster.bucket, orphan, 3 * 3600_000);

      const marks = cluster.instances.map((instance) => sweepLines(instance).length);
      await moreRounds(cluster.instances, marks, 2);
      for (const instance of cluster.instances) {
        const lines = sweepLines(instance);
        assert.ok(
          lines.every((line) => line.includes('Sweep skipped: another instance holds the sweep lock')),
          `${instance.name}: ${lines.join('\n')}`,
        );
      }
      assert.equal((await cluster.sql(`SELECT 1 FROM session_attachments WHERE bundle = 'old'`)).length, 2);
      assert.ok((await cluster.objectKeys()).includes(orphan));

      await lockHolder.query('SELECT pg_advisory_unlock($1, 0)', [SWEEP_LOCK_NAMESPACE]);
      assert.ok(
        await waitFor(async () => {
          const keys = await cluster.objectKeys();
          return !keys.includes(orphan) && keys.join() === (await cluster.rowKeys()).join();
        }, 120_000),
      );
      assert.equal((await cluster.sql(`SELECT 1 FROM session_attachments WHERE bundle = 'old'`)).length, 0);
      // Every round that could have overlapped the one that removed them has logged by the
      // time each instance logs two more (one instance's rounds run one after the other).
      await moreRounds(
        cluster.instances,
        cluster.instances.map((instance) => sweepLines(instance).length),
        2,
      );
      const all = cluster.instances.flatMap(sweepLines);
      assert.deepEqual(removedTotals(all), { attachments: 2, orphans: 1 }, 'each removed once, by one instance');
      assert.ok(
        all.every((line) => !line.includes('Sweep failed')),
        all.join('\n'),
      );
      // What was not due stays, downloadable.
      for (const [name, digest] of acknowledged) {
        assert.equal(sha256(Buffer.from(await (await visitor.get(`/attachments/kept/${name}`)).arrayBuffer())), digest);
      }
    });

    test('kill -9 of the instance receiving a large upload: acknowledged attachments stay downloadable through the others, nothing half-visible', async () => {
      const keep = randomBytes(3 * MiB);
      assert.equal((await visitor.upload('/attachments/kept', [['file', 'keep.bin', keep]])).status, 201);
      acknowledged.set('keep.bin', sha256(keep));

      const size = 40 * MiB;
      const before = await Promise.all(cluster.instances.map((instance) => instance.bytesRead()));
      const upload = streamingUpload(`${cluster.balancer.baseUrl}/attachments/kept`, visitor.cookie!, 'big.bin', size);
      await upload.start();
      const block = randomBytes(MiB);
      for (let sent = 0; sent < 32 * MiB; sent += MiB) await upload.write(block);
      // The receiver is the instance that has read most of what was sent; and its multipart
      // upload to S3 has parts stored.
      let receiver: Instance | undefined;
      assert.ok(
        await waitFor(async () => {
          const now = await Promise.all(cluster.instances.map((instance) => instance.bytesRead()));
          receiver = cluster.instances.find((_instance, index) => now[index]! - before[index]! >= 16 * MiB);
          return receiver !== undefined;
        }),
        'one instance is receiving the upload',
      );
      assert.ok(
        await waitFor(async () => (await cluster.s3.incompleteUploads(cluster.bucket)).some((cut) => cut.parts > 0)),
        'the receiver has stored parts of a multipart upload',
      );
      await receiver!.kill('SIGKILL');
      upload.destroy();
      const answer = await upload.answer;
      assert.ok(answer instanceof Error || answer.status >= 500, 'the cut upload is not acknowledged');

      const survivors = cluster.instances.filter((instance) => instance !== receiver).map((instance) => instance.name);
      servedBy.length = 0;
      for (let round = 0; round < 4; round += 1) {
        const list = track(await visitor.get('/attachments/kept'));
        assert.equal(list.status, 200);
        assert.deepEqual(
          ((await list.json()) as AttachmentBody[]).map((attachment) => attachment.name).sort(),
          [...acknowledged.keys()].sort(),
        );
        for (const [name, digest] of acknowledged) {
          const download = track(await visitor.get(`/attachments/kept/${name}`));
          assert.equal(download.status, 200);
          assert.equal(sha256(Buffer.from(await download.arrayBuffer())), digest, name);
        }
        assert.equal(track(await visitor.get('/attachments/kept/big.bin')).status, 404);
      }
      assert.deepEqual([...new Set(servedBy)].sort(), survivors.sort(), 'both survivors answered, the dead one never');
      assert.equal((await cluster.sql(`SELECT 1 FROM session_attachments WHERE name = 'big.bin'`)).length, 0);
      // The cut upload left parts on s3rver, as an incomplete multipart upload: no object, so
      // nothing any listing (the orphan sweep's included) can see. On S3 the bucket's
      // AbortIncompleteMultipartUpload rule removes it; s3rver has no such rule.
      assert.ok((await cluster.s3.incompleteUploads(cluster.bucket)).length >= 1);
      // And the survivors keep sweeping: afterwards still exactly one object per row.
      const alive = cluster.instances.filter((instance) => instance !== receiver);
      await moreRounds(
        alive,
        alive.map((instance) => sweepLines(instance).length),
        2,
      );
      assert.deepEqual(await cluster.objectKeys(), await cluster.rowKeys());
    });
  },
);
