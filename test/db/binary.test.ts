import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { Binary, GridFSBucket, MongoClient, UUID, type Db, type ObjectId } from 'mongodb';
import { testMongoUri, uniqueDbName } from '../support/mongo';

type BlobDoc = { _id: number; k: number; data: Binary; uuid: UUID };

/** Uploads `data` in pieces of 64 KiB, as a streamed HTTP upload would. */
async function upload(bucket: GridFSBucket, data: Buffer): Promise<ObjectId> {
  const stream = bucket.openUploadStream('file.bin');
  const finished = new Promise<void>((resolve, reject) => {
    stream.once('finish', () => resolve());
    stream.once('error', reject);
  });
  for (let at = 0; at < data.length; at += 64 * 1024) {
    if (!stream.write(data.subarray(at, at + 64 * 1024))) await new Promise((resolve) => stream.once('drain', resolve));
  }
  stream.end();
  await finished;
  return stream.id as ObjectId;
}

async function download(bucket: GridFSBucket, id: ObjectId, range?: { start: number; end: number }): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of bucket.openDownloadStream(id, range)) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

/** The first offset where two buffers differ, or -1 (a readable failure instead of a 50 MB diff). */
function firstDifference(actual: Buffer, expected: Buffer): number {
  const length = Math.min(actual.length, expected.length);
  for (let i = 0; i < length; i++) if (actual[i] !== expected[i]) return i;
  return actual.length === expected.length ? -1 : length;
}

describe('db conformance: binary data and GridFS', function () {
  this.timeout(120_000);
  let client: MongoClient;
  let db: Db;

  before(async () => {
    client = await new MongoClient(await testMongoUri()).connect();
    db = client.db(uniqueDbName('binary'));
  });
  after(async () => {
    await db.dropDatabase();
    await client.close();
  });

  it('stores files in GridFS and gives back the same bytes, whole and as ranges', async () => {
    // The driver's default chunk size (255 KiB) and a small one, so files span many chunks.
    for (const chunkSizeBytes of [255 * 1024, 10_000]) {
      const bucket = new GridFSBucket(db, { bucketName: `files${chunkSizeBytes}`, chunkSizeBytes });
      const chunk = chunkSizeBytes;
      for (const size of [1024, chunk + 1, 3 * 1024 * 1024]) {
        const data = randomBytes(size);
        const id = await upload(bucket, data);
        // Another file written and deleted meanwhile reuses the database's free pages.
        await bucket.delete(await upload(bucket, randomBytes(size)));
        expect(firstDifference(await download(bucket, id), data), `whole file of ${size} bytes in chunks of ${chunk}`).to.equal(-1);
        const ranges = [
          { start: 0, end: Math.min(size, 100) },
          { start: Math.floor(size / 3), end: Math.floor((size * 2) / 3) + 1 },
          { start: size - 7, end: size },
          ...(size > chunk + 5 ? [{ start: chunk - 5, end: chunk + 5 }] : []),
          ...(size > chunk ? [{ start: chunk, end: size }] : []),
        ];
        for (const range of ranges) {
          const part = await download(bucket, id, range);
          expect(firstDifference(part, data.subarray(range.start, range.end)), `bytes ${range.start}–${range.end} of ${size}`).to.equal(-1);
        }
        // The chunks read as documents (decoded, not sent as stored) hold the same bytes, in order of `n`.
        const chunks = await db
          .collection<{ n: number; data: Binary }>(`files${chunkSizeBytes}.chunks`)
          .aggregate<{ n: number; data: Binary }>([{ $match: { files_id: id } }, { $sort: { n: 1 } }, { $addFields: { read: true } }], { batchSize: 2 })
          .toArray();
        expect(chunks.map((c) => c.n)).to.deep.equal(Array.from({ length: Math.ceil(size / chunk) }, (_, n) => n));
        expect(firstDifference(Buffer.concat(chunks.map((c) => Buffer.from(c.data.buffer))), data), `chunks of ${size} bytes as documents`).to.equal(-1);
        await bucket.delete(id);
      }
    }
  });

  it('gives back binary values unchanged on every read path, in batches of any size', async () => {
    const c = db.collection<BlobDoc>('blobs');
    await c.createIndex({ k: 1 });
    // Small values, and values of ~1 MiB whose 40 documents need several 16 MiB batches.
    for (const size of [16, 4000, 1024 * 1024]) {
      await c.deleteMany({});
      const docs = Array.from({ length: size > 100_000 ? 40 : 200 }, (_, i) => ({ _id: i, k: i, data: new Binary(randomBytes(size)), uuid: new UUID() }));
      await c.insertMany(docs);
      const intact = (found: Partial<BlobDoc>[]) => {
        expect(found).to.have.length(docs.length);
        for (const doc of found) {
          const original = docs[doc._id!]!;
          expect(firstDifference(Buffer.from(doc.data!.buffer), Buffer.from(original.data.buffer)), `data of ${doc._id} (${size} bytes)`).to.equal(-1);
          if (doc.uuid) expect(doc.uuid.toHexString()).to.equal(original.uuid.toHexString());
        }
      };
      intact(
        await c
          .find({ k: { $gte: 0 } })
          .sort({ k: 1 })
          .toArray(),
      );
      intact(
        await c
          .find({ k: { $gte: 0 } }, { batchSize: 3 })
          .sort({ k: 1 })
          .toArray(),
      );
      intact(
        await c
          .find({ k: { $gte: 0 } }, { projection: { data: 1, uuid: 1 }, batchSize: 7 })
          .sort({ k: 1 })
          .toArray(),
      );
      intact(await c.find({ k: { $gte: 0 }, data: { $exists: true } }, { batchSize: 5 }).toArray());
      intact(await c.aggregate<BlobDoc>([{ $match: { k: { $gte: 0 } } }, { $addFields: { seen: true } }], { batchSize: 4 }).toArray());
      const session = client.startSession();
      try {
        await session.withTransaction(async () => intact(await c.find({ k: { $gte: 0 } }, { session, batchSize: 6 }).toArray()));
      } finally {
        await session.endSession();
      }
      const first = docs[0]!;
      const updated = await c.findOneAndUpdate({ k: 0 }, { $set: { touched: true } }, { returnDocument: 'after' });
      expect(Buffer.from(updated!.data.buffer).equals(Buffer.from(first.data.buffer))).to.equal(true);
      intact(await c.find({ k: { $gte: 0 } }).toArray());
    }
  });
});
