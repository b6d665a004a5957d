import { createHash } from 'node:crypto';
import type mongoose from 'mongoose';

/**
 * A collection's content as one SHA-256: every document's exact BSON bytes, in `_id` order. Equal
 * hashes mean the same documents with the same field order, values and BSON types.
 */
export async function contentHash(db: mongoose.mongo.Db, collection: string): Promise<{ documents: number; sha256: string }> {
  const hash = createHash('sha256');
  let documents = 0;
  const cursor = db.collection(collection).find({}, { sort: { _id: 1 }, raw: true, batchSize: 5000 }) as unknown as AsyncIterable<Buffer>;
  for await (const document of cursor) {
    hash.update(document);
    documents += 1;
  }
  return { documents, sha256: hash.digest('hex') };
}

export async function contentHashes(db: mongoose.mongo.Db, collections: string[]): Promise<Record<string, { documents: number; sha256: string }>> {
  const entries = await Promise.all(collections.map(async (name) => [name, await contentHash(db, name)] as const));
  return Object.fromEntries(entries);
}
