import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { once } from 'node:events';
import path from 'node:path';
import mongoose from 'mongoose';
import { latestVersion, storedVersion, type Db } from '../migrations';
import { SERVER_VERSION } from '../version';
import {
  ARCHIVE_FORMAT,
  ARCHIVE_FORMAT_VERSION,
  dataPath,
  isBackedUp,
  metadataPath,
  packArchive,
  serializeMetadata,
  type ArchivedCollection,
  type Manifest,
  type StagedFile,
} from './archive';

/** `kartoteka-backup-2026-11-26T02-30-15.123Z.tar.gz`: sorts by time, safe on every file system. */
export function archiveName(at: Date): string {
  return `kartoteka-backup-${at.toISOString().replace(/:/g, '-')}.tar.gz`;
}

const ARCHIVE_NAME = /^kartoteka-backup-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}\.\d{3}Z\.tar\.gz$/;

/**
 * Where a catalog entry's archive is: always a file directly inside `dir`, named as a backup names
 * it. Null for any other name (a path, `..`): the catalog never leads outside the backup directory.
 */
export function archiveIn(dir: string, file: string | null): string | null {
  return file && ARCHIVE_NAME.test(file) ? path.join(path.resolve(dir), file) : null;
}

export interface SnapshotOutcome {
  file: string;
  path: string;
  manifest: Manifest;
  sizeBytes: number;
  documents: number;
  durationMs: number;
}

export interface SnapshotOptions {
  dir: string;
  /** The database to back up; the application's connection by default. */
  db?: Db;
  /** Which server it is, for the manifest (never branched on). */
  server: string;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

const WRITE_CHUNK = 1024 * 1024;

/** Streams raw BSON documents into a file, hashing them on the way. */
async function stageDocuments(
  documents: AsyncIterable<Buffer>,
  target: string,
  signal: AbortSignal | undefined,
  onDocuments: (count: number) => void,
): Promise<StagedFile & { documents: number }> {
  const out = createWriteStream(target);
  const hash = createHash('sha256');
  let bytes = 0;
  let count = 0;
  let batch: Buffer[] = [];
  let batchBytes = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const chunk = Buffer.concat(batch, batchBytes);
    batch = [];
    batchBytes = 0;
    if (!out.write(chunk)) await once(out, 'drain');
  };
  try {
    for await (const document of documents) {
      hash.update(document);
      bytes += document.length;
      batch.push(document);
      batchBytes += document.length;
      count += 1;
      if (batchBytes >= WRITE_CHUNK) {
        signal?.throwIfAborted();
        await flush();
        onDocuments(count);
      }
    }
    await flush();
    out.end();
    await once(out, 'finish');
  } finally {
    out.destroy();
  }
  onDocuments(count);
  return { source: target, path: '', bytes, sha256: hash.digest('hex'), documents: count };
}

async function stageBuffer(content: Buffer, target: string): Promise<StagedFile> {
  const out = createWriteStream(target);
  out.end(content);
  await once(out, 'finish');
  return { source: target, path: '', bytes: content.length, sha256: createHash('sha256').update(content).digest('hex') };
}

/**
 * Backs up every collection of the database into one archive in `dir`, all read at one point in
 * time: a snapshot session (MongoDB: read concern "snapshot" at one cluster time). Documents go
 * to disk as the raw BSON the server sent (never decoded), then into the compressed archive.
 */
export async function writeSnapshot(options: SnapshotOptions): Promise<SnapshotOutcome> {
  const db = options.db ?? mongoose.connection.db!;
  const started = new Date();
  await mkdir(options.dir, { recursive: true });
  const file = archiveName(started);
  const target = path.join(options.dir, file);
  const partial = `${target}.partial`;
  const staging = await mkdtemp(path.join(options.dir, '.staging-'));
  const session = db.client.startSession({ snapshot: true });
  try {
    const infos = (await db.listCollections({ type: 'collection' }, { nameOnly: false }).toArray())
      .filter((info) => isBackedUp(info.name))
      .sort((a, b) => (a.name < b.name ? -1 : 1));
    const counts = await Promise.all(infos.map((info) => db.collection(info.name).estimatedDocumentCount()));
    const total = counts.reduce((sum, n) => sum + n, 0);
    let done = 0;
    options.onProgress?.(0, total);
    const dataModelVersion = (await storedVersion(db, session)) ?? latestVersion();
    const collections: ArchivedCollection[] = [];
    const staged: StagedFile[] = [];
    for (const [index, info] of infos.entries()) {
      options.signal?.throwIfAborted();
      const collection = db.collection(info.name);
      const metadata = await stageBuffer(
        serializeMetadata({ collectionName: info.name, type: 'collection', options: info.options ?? {}, indexes: await collection.indexes() }),
        path.join(staging, `${index}.metadata.json`),
      );
      const cursor = collection.find({}, { session, raw: true, batchSize: 2000 }) as unknown as AsyncIterable<Buffer>;
      const data = await stageDocuments(cursor, path.join(staging, `${index}.bson`), options.signal, (count) => options.onProgress?.(done + count, total));
      done += data.documents;
      const dataFile = { ...data, path: dataPath(info.name) };
      const metadataFile = { ...metadata, path: metadataPath(info.name) };
      // Metadata first: a restore creates the collection with its options before the documents arrive.
      staged.push(metadataFile, dataFile);
      const describe = ({ path: p, bytes, sha256 }: StagedFile) => ({ path: p, bytes, sha256 });
      collections.push({ name: info.name, documents: data.documents, data: describe(dataFile), metadata: describe(metadataFile) });
    }
    const manifest: Manifest = {
      format: ARCHIVE_FORMAT,
      formatVersion: ARCHIVE_FORMAT_VERSION,
      kartotekaVersion: SERVER_VERSION,
      dataModelVersion,
      createdAt: started.toISOString(),
      source: { database: db.databaseName, server: options.server },
      consistency: 'snapshot',
      collections,
    };
    const sizeBytes = await packArchive(partial, manifest, staged, options.signal);
    await rename(partial, target);
    return { file, path: target, manifest, sizeBytes, documents: done, durationMs: Date.now() - started.getTime() };
  } finally {
    await session.endSession();
    await rm(staging, { recursive: true, force: true });
    await rm(partial, { force: true });
  }
}
