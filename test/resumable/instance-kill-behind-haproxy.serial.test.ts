// Three demo instances behind HAProxy (the README configuration: round-robin, no stickiness)
// on one PostgreSQL, sessions in PostgreSQL, bytes in one s3rver bucket (parts) or one shared
// folder (in place). The instance that took the first half of a tus upload is killed with
// SIGKILL while it receives the second; the visitor resumes through the balancer, another
// instance takes it from the offset PostgreSQL holds, and the attachment is the file, by sha256.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { debianBinary } from '../support/debian-binary.js';
import { createTusUpload, streamingPatch, tusOffset, tusPatch } from '../support/tus-requests.js';
import { Visitor } from '../support/visitor.js';
import { waitFor } from '../support/wait-for.js';
import { startCluster, type Cluster } from '../cluster/cluster.js';

const haproxy = debianBinary('haproxy');
const MiB = 1024 * 1024;
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Sizes of the files in the shared folder's blobs. */
async function blobSizes(directory: string): Promise<number[]> {
  const folder = join(directory, 'blobs');
  const entries = await readdir(folder, { recursive: true, withFileTypes: true }).catch(() => []);
  return Promise.all(
    entries.filter((entry) => entry.isFile()).map(async (entry) => (await stat(join(entry.parentPath, entry.name))).size),
  );
}

for (const storage of ['s3', 'disk'] as const) {
  describe(
    `tus resume after kill -9 of the receiving instance behind HAProxy, ${storage}`,
    { skip: 'missing' in haproxy ? haproxy.missing : false },
    () => {
      let cluster: Cluster;
      before(async () => {
        if (!('path' in haproxy)) return;
        cluster = await startCluster(haproxy.path, { SESSION_SECRET: 'one-secret-for-the-cluster' }, undefined, storage);
      });
      after(() => cluster?.stop());

      test('the first half through the balancer, the second cut by killing its instance, the rest through the balancer on another: the file whole', async () => {
        const visitor = new Visitor(cluster.balancer.baseUrl);
        const file = randomBytes(48 * MiB + 5);
        const half = 24 * MiB;
        const path = await createTusUpload(visitor, 'kill', 'film.mkv', file.length);
        const first = await tusPatch(cluster.balancer.baseUrl + path, visitor.cookie, 0, file.subarray(0, half));
        assert.equal(first.status, 204, first.body);
        assert.equal(first.offset, half);
        const holder = cluster.instances.find((instance) => instance.name === first.servedBy);
        assert.ok(holder, `HAProxy named the instance that took the first half (${first.servedBy})`);

        // The second half goes to that same instance (a client whose next request the balancer
        // sent there), and it is killed while it receives it.
        const readBefore = await holder.bytesRead();
        const second = streamingPatch(holder.baseUrl + path, visitor.cookie, half, file.length - half);
        for (let offset = half; offset < half + 16 * MiB; offset += MiB) await second.write(file.subarray(offset, offset + MiB));
        assert.ok(
          await waitFor(async () => {
            if ((await holder.bytesRead()) - readBefore < 8 * MiB) return false;
            // And it is storing them: on S3 a part of the PATCH's object is up; on disk the
            // object has grown past the half.
            if (storage === 's3') return (await cluster.s3.incompleteUploads(cluster.bucket)).some((upload) => upload.parts > 0);
            return (await blobSizes(cluster.attachmentsDirectory!)).some((size) => size > half);
          }),
          'the instance is receiving and storing the second half',
        );
        await holder.kill('SIGKILL');
        second.destroy();
        assert.ok((await second.answer) instanceof Error, 'the killed PATCH got no answer');

        // Nothing of the killed PATCH was committed: the offset in PostgreSQL is the half, and
        // whoever answers now is another instance.
        const head = await tusOffset(visitor, path);
        assert.equal(head.status, 200);
        assert.equal(head.offset, half);
        assert.notEqual(head.servedBy, holder.name);

        const rest = await tusPatch(cluster.balancer.baseUrl + path, visitor.cookie, half, file.subarray(half));
        assert.equal(rest.status, 204, rest.body);
        assert.notEqual(rest.servedBy, holder.name);
        assert.equal(rest.offset, file.length);
        assert.equal(rest.attachment?.sha256, sha256(file));
        const download = await visitor.get('/attachments/kill/film.mkv');
        assert.equal(download.status, 200);
        assert.notEqual(download.headers.get('x-served-by'), holder.name);
        assert.equal(sha256(new Uint8Array(await download.arrayBuffer())), sha256(file));

        if (storage === 's3') {
          // One object per row: the parts were joined into the attachment's object and deleted
          // (the killed PATCH's incomplete multipart upload is no object; see the cluster test).
          assert.ok(await waitFor(async () => (await cluster.objectKeys()).join() === (await cluster.rowKeys()).join()));
          assert.equal((await cluster.objectKeys()).length, 1);
        } else {
          // The object the halves were written into is the attachment's blob, the only file.
          assert.deepEqual(await blobSizes(cluster.attachmentsDirectory!), [file.length]);
        }
      });
    },
  );
}
